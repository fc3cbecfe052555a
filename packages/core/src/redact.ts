/**
 * Redaction of tool arguments and user attributes before they leave the
 * process: in an audit record (@hexgate/audit) or a trace span
 * (@hexgate/tracing). One implementation, so both always hide the same things. Two rules, both documented in the README:
 *
 * 1. Secrets by key: the value of any key that looks like a secret (password,
 *    secret, token, api key, credential, authorization, ...) is replaced,
 *    whatever its type, at any depth.
 * 2. Size caps: long strings, long lists/objects, deep nesting and an overall
 *    character budget are truncated, and the original size is noted, so one
 *    huge argument cannot bloat every record.
 *
 * `redact` never throws for a value: it accepts any value (getters that throw, cycles,
 * bigints, class instances) and always returns plain JSON data.
 */

import { InvalidOptionsError } from './errors.ts';

export interface RedactOptions {
  /** Text that replaces a secret value (default `[REDACTED]`). */
  readonly replacement?: string;
  /** Extra keys to treat as secrets: a string matches the normalized key exactly (case and `-_. ` ignored), a RegExp is tested on the raw key. */
  readonly secretKeys?: readonly (string | RegExp)[];
  /** Replaces the built-in key rule entirely. */
  readonly isSecretKey?: (key: string) => boolean;
  /** Strings longer than this many characters are truncated (default 1024). */
  readonly maxStringLength?: number;
  /** Lists and objects keep at most this many entries (default 100). */
  readonly maxEntries?: number;
  /** Nesting deeper than this is replaced by a marker (default 10). */
  readonly maxDepth?: number;
  /**
   * Budget of characters (keys and string values) for the whole value
   * (default 65,536); once spent, remaining values are replaced by a marker.
   */
  readonly maxTotalChars?: number;
}

export const DEFAULT_REDACT_OPTIONS = Object.freeze({
  replacement: '[REDACTED]',
  maxStringLength: 1024,
  maxEntries: 100,
  maxDepth: 10,
  maxTotalChars: 65_536,
});

/**
 * Secret words, matched against the key lowercased with `-`, `_`, `.` and
 * spaces removed, so `apiKey`, `api_key`, `X-API-Key` and `APIKEY` all
 * normalize to something containing `apikey`.
 */
const SECRET_WORDS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'credential',
  'authorization',
  'privatekey',
  'privkey',
  'accesskey',
  'signingkey',
  'encryptionkey',
  'sessionkey',
  'connectionstring',
  'passcode',
  'bearer',
  'jwt',
  'cookie',
  'cvv',
  'cvc',
  'cardnumber',
];

/**
 * Short secret names that are too common as parts of other words to match
 * anywhere (`pin` in `shipping`): they match the whole key, or its end
 * (`userPin`, `smsOtp`, `oauth`).
 */
const SECRET_ENDINGS = ['pin', 'otp', 'totp', 'auth', 'dsn', 'ssn', 'mfacode'];

/**
 * LLM arguments are full of token *counts* (`max_tokens`, `promptTokens`):
 * numbers, not secrets. A key made only of count words plus `token(s)` is not
 * a secret; `accessToken`, `refresh_tokens` or a bare `token` still are.
 */
const TOKEN_COUNT =
  /^(?:max|min|num|total|prompt|completion|input|output|reasoning|cached|context|remaining|used)+tokens?(?:count|limit|used|usage|budget)?$|^tokens?(?:count|limit|used|usage|budget)$/;

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[-_.\s]/g, '');
}

/** The built-in rule: does this key name a secret? */
export function isSecretKey(key: string): boolean {
  const k = normalizeKey(key);
  for (const ending of SECRET_ENDINGS) if (k.endsWith(ending)) return true;
  for (const word of SECRET_WORDS) {
    if (k.includes(word)) {
      if (word === 'token' && TOKEN_COUNT.test(k) && !SECRET_WORDS.some((w) => w !== 'token' && k.includes(w))) {
        return false;
      }
      return true;
    }
  }
  return false;
}

// Keys repeat endlessly across records; remember the answer for each.
const keyCache = new Map<string, boolean>();
function cachedIsSecretKey(key: string): boolean {
  let hit = keyCache.get(key);
  if (hit === undefined) {
    hit = isSecretKey(key);
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(key, hit);
  }
  return hit;
}

interface State {
  readonly secret: (key: string) => boolean;
  readonly replacement: string;
  readonly maxString: number;
  readonly maxEntries: number;
  readonly maxDepth: number;
  budget: number;
  readonly seen: Set<object>;
  /**
   * Whether some object's keys may not be in sorted order: an integer-like key
   * (JS lists those first, whatever the insertion order) or a truncation marker.
   */
  unordered: boolean;
}

/** Cuts a string to `max` characters without splitting a surrogate pair, noting the original size. */
export function truncateString(s: string, max: number): string {
  if (s.length <= max) return s;
  let end = max;
  const code = s.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${s.slice(0, end)}…[truncated, ${s.length} chars]`;
}

/**
 * Returns a redacted, size-capped copy of `value` as plain JSON data.
 * Object keys are kept (only values are replaced), so a reader can see that
 * a password was given without seeing it.
 */
export function redact(value: unknown, options: RedactOptions = {}): unknown {
  return redactWithOrder(value, options).value;
}

const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

/**
 * `redact`, plus whether every object in the result lists its keys in
 * canonical (sorted) order, which the audit trail uses to hash with one
 * native JSON.stringify instead of re-sorting every object.
 */
export function redactWithOrder(value: unknown, options: RedactOptions = {}): { value: unknown; ordered: boolean } {
  // A rule that is not a function would make every key lookup throw, and every object unreadable.
  if (options.isSecretKey !== undefined && typeof options.isSecretKey !== 'function')
    throw new InvalidOptionsError('redact: isSecretKey must be a function (key) => boolean');
  if (options.secretKeys !== undefined && !Array.isArray(options.secretKeys))
    throw new InvalidOptionsError('redact: secretKeys must be a list of strings and RegExps');
  const extra = options.secretKeys ?? [];
  const exact = new Set(extra.filter((p): p is string => typeof p === 'string').map(normalizeKey));
  const patterns = extra.filter((p): p is RegExp => p instanceof RegExp);
  const base = options.isSecretKey ?? cachedIsSecretKey;
  const secret =
    exact.size === 0 && patterns.length === 0
      ? base
      : (key: string) => base(key) || exact.has(normalizeKey(key)) || patterns.some((p) => p.test(key));
  const state: State = {
    secret,
    replacement: options.replacement ?? DEFAULT_REDACT_OPTIONS.replacement,
    maxString: positive(options.maxStringLength, DEFAULT_REDACT_OPTIONS.maxStringLength),
    maxEntries: positive(options.maxEntries, DEFAULT_REDACT_OPTIONS.maxEntries),
    maxDepth: positive(options.maxDepth, DEFAULT_REDACT_OPTIONS.maxDepth),
    budget: positive(options.maxTotalChars, DEFAULT_REDACT_OPTIONS.maxTotalChars),
    seen: new Set(),
    unordered: false,
  };
  const out = walk(value, 0, state);
  return { value: out, ordered: !state.unordered };
}

/** An option left out takes its default; one given with a bad value is an error, never silently replaced. */
function positive(v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new InvalidOptionsError(`redact: size options must be non-negative integers, got ${String(v)}`);
  }
  return v;
}

const OMITTED = '[omitted: size cap]';

function walk(value: unknown, depth: number, st: State): unknown {
  switch (typeof value) {
    case 'string': {
      if (st.budget <= 0) return OMITTED;
      const out = truncateString(value, Math.min(st.maxString, Math.max(st.budget, 16)));
      st.budget -= out.length;
      return out;
    }
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return null;
    case 'symbol':
      return value.toString();
    case 'function':
      return '[function]';
  }
  if (value === null) return null;
  const obj = value as object;
  if (depth >= st.maxDepth) return '[truncated: depth limit]';
  if (st.budget <= 0) return OMITTED;
  if (st.seen.has(obj)) return '[circular]';
  st.seen.add(obj);
  try {
    if (Array.isArray(obj)) return walkArray(obj, depth, st);
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
    if (obj instanceof Error) return walkObject({ name: obj.name, message: obj.message }, depth, st);
    if (obj instanceof Map) return walkObject(Object.fromEntries(obj), depth, st);
    if (obj instanceof Set) return walkArray([...obj], depth, st);
    if (ArrayBuffer.isView(obj)) return `[${obj.constructor.name}, ${obj.byteLength} bytes]`;
    return walkObject(obj as Record<string, unknown>, depth, st);
  } catch {
    return '[unreadable]';
  } finally {
    st.seen.delete(obj);
  }
}

function walkArray(list: readonly unknown[], depth: number, st: State): unknown[] {
  const n = Math.min(list.length, st.maxEntries);
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = readSafely(() => list[i], depth, st) ?? null;
  if (list.length > n) out.push(`[truncated: ${list.length - n} more items, ${list.length} in all]`);
  return out;
}

function walkObject(obj: Record<string, unknown>, depth: number, st: State): Record<string, unknown> {
  // Sorted keys: the output reads the same whatever order the caller built it in.
  const keys = Object.keys(obj);
  if (keys.length > 1) keys.sort();
  const n = Math.min(keys.length, st.maxEntries);
  // A null prototype keeps a `__proto__` key an ordinary own property.
  const out: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < n; i++) {
    const key = keys[i] as string;
    st.budget -= key.length;
    if (!st.unordered && INDEX_KEY.test(key)) st.unordered = true;
    if (st.secret(key)) {
      out[key] = st.replacement;
      continue;
    }
    const v = readSafely(() => obj[key], depth, st);
    // Like JSON.stringify: an undefined member is left out, not turned into null.
    if (v !== undefined) out[key] = v;
  }
  if (keys.length > n) {
    out['[truncated]'] = `${keys.length - n} more keys, ${keys.length} in all`;
    st.unordered = true;
  }
  return out;
}

function readSafely(read: () => unknown, depth: number, st: State): unknown {
  let v: unknown;
  try {
    v = read();
  } catch {
    return '[unreadable]';
  }
  if (v === undefined) return undefined;
  return walk(v, depth + 1, st);
}

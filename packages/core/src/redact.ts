/**
 * Redaction for anything that leaves the process (audit records, traces):
 * values under keys that look like secrets are replaced, and long values are
 * truncated with their original size noted. One function, so the audit trail
 * and the traces always agree on what is hidden.
 */

export interface RedactOptions {
  /** Strings longer than this many characters are truncated (default 1024). */
  readonly maxStringLength?: number;
  /** Lists longer than this are cut (default 100 items). */
  readonly maxItems?: number;
  /** Deeper structures are replaced by a marker (default 16). */
  readonly maxDepth?: number;
  /** Extra key patterns to redact, besides the built-in ones. */
  readonly extraKeys?: readonly RegExp[];
}

export const REDACTED = '[REDACTED]';

/**
 * Keys that look like secrets: password, passwd, secret, token, api key,
 * credential, authorization, private key, cookie, session id - in any case and
 * with any separators (`apiKey`, `api_key`, `x-api-key`, `AUTHORIZATION`).
 */
const SECRET_KEY =
  /pass(word|wd)?$|secret|token|api[-_ ]?key|credential|authori[sz]ation|private[-_ ]?key|cookie|^auth$|session[-_ ]?id/i;

export function isSecretKey(key: string, extra: readonly RegExp[] = []): boolean {
  const flat = key.replace(/[-_ .]/g, '');
  return SECRET_KEY.test(key) || SECRET_KEY.test(flat) || extra.some((re) => re.test(key));
}

export function redact(value: unknown, options: RedactOptions = {}): unknown {
  const maxString = options.maxStringLength ?? 1024;
  const maxItems = options.maxItems ?? 100;
  const maxDepth = options.maxDepth ?? 16;
  const extra = options.extraKeys ?? [];
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      return v.length > maxString ? `${v.slice(0, maxString)}…[truncated, ${v.length} chars]` : v;
    }
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
    if (typeof v !== 'object') return `[${typeof v}]`;
    if (depth >= maxDepth) return '[truncated: too deep]';
    if (Array.isArray(v)) {
      const items = v.slice(0, maxItems).map((x) => walk(x, depth + 1));
      if (v.length > maxItems) items.push(`[truncated, ${v.length} items]`);
      return items;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      const inner = (v as Record<string, unknown>)[key];
      Object.defineProperty(out, key, {
        value: isSecretKey(key, extra) ? REDACTED : walk(inner, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return walk(value, 0);
}

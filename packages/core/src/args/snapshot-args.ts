/**
 * Turns tool arguments (an object or a JSON string) into a deep-frozen
 * snapshot of plain JSON data, or a reason to deny. The decision is made on
 * the snapshot and the adapter passes that same snapshot to the tool, so
 * what was decided is exactly what runs.
 */

/** Limits on arguments; anything past them is denied. */
export interface ArgsLimits {
  /** Maximum nesting depth of objects and lists (default 32). */
  readonly maxDepth: number;
  /** Maximum size: characters of a JSON string, or values in an object (default 1 MiB / 100,000). */
  readonly maxBytes: number;
  readonly maxNodes: number;
}

export const DEFAULT_ARGS_LIMITS: ArgsLimits = Object.freeze({
  maxDepth: 32,
  maxBytes: 1024 * 1024,
  maxNodes: 100_000,
});

export type ArgsResult =
  | { readonly ok: true; readonly args: FrozenArgs }
  | { readonly ok: false; readonly reason: string };

/** A deep-frozen plain JSON object: the snapshot the decision was made on. */
export type FrozenArgs = Readonly<Record<string, unknown>>;

export function snapshotArgs(input: unknown, limits: ArgsLimits = DEFAULT_ARGS_LIMITS): ArgsResult {
  if (typeof input === 'string') return fromJson(input, limits);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail(`arguments must be a JSON object, got ${describe(input)}`);
  }
  try {
    const counter = { nodes: 0 };
    const copy = copyValue(input, 0, limits, counter, new Set());
    return { ok: true, args: copy as FrozenArgs };
  } catch (e) {
    if (e instanceof ArgsRejection) return fail(e.message);
    return fail(`arguments could not be read: ${(e as Error).message}`);
  }
}

class ArgsRejection extends Error {}

/**
 * V8's JSON.parse messages quote a snippet of the input (`..."assword": hunter2}"
 * is not valid JSON`), and a deny reason goes to the model, the audit trail and
 * traces: keep only what went wrong and where, never the text itself.
 */
function jsonErrorWithoutInput(e: unknown): string {
  const message = e instanceof Error ? e.message : '';
  const position = /at position (\d+)/.exec(message)?.[1];
  // Only the grammar part of the message: these never contain input text.
  const what =
    /^(Expected .+?) in JSON/.exec(message)?.[1] ??
    /^(Unexpected token|Unexpected end of JSON input|Unexpected non-whitespace character after JSON|Bad control character in string literal|Bad escaped character|Unterminated string)/.exec(
      message,
    )?.[1] ??
    'syntax error';
  return position === undefined ? what : `${what} at position ${position}`;
}

function fail(reason: string): ArgsResult {
  return { ok: false, reason: `invalid arguments: ${reason}` };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v;
}

// --- JSON string input: JSON.parse, then one pass that freezes, checks depth,
// finite numbers, and detects duplicate keys (JSON.parse silently keeps the
// last one) by comparing the members it produced with the members in the text.

function fromJson(text: string, limits: ArgsLimits): ArgsResult {
  if (text.length > limits.maxBytes)
    return fail(`payload of ${text.length} characters exceeds the ${limits.maxBytes} limit`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${jsonErrorWithoutInput(e)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(`arguments must be a JSON object, got ${describe(value)}`);
  }
  const stats = { members: 0, nodes: 0 };
  const problem = freezeParsed(value, 0, limits, stats);
  if (problem) return fail(problem);
  if (stats.members !== countMembers(text)) return fail('duplicate key in JSON object');
  return { ok: true, args: value as FrozenArgs };
}

function freezeParsed(
  v: unknown,
  depth: number,
  limits: ArgsLimits,
  stats: { members: number; nodes: number },
): string | undefined {
  if (++stats.nodes > limits.maxNodes) return `more than ${limits.maxNodes} values`;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : 'number out of range (not finite)';
  if (typeof v !== 'object' || v === null) return undefined;
  if (depth >= limits.maxDepth) return `nesting deeper than ${limits.maxDepth}`;
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = freezeParsed(x, depth + 1, limits, stats);
      if (p) return p;
    }
  } else {
    for (const k of Object.keys(v)) {
      stats.members++;
      const p = freezeParsed((v as Record<string, unknown>)[k], depth + 1, limits, stats);
      if (p) return p;
    }
  }
  Object.freeze(v);
  return undefined;
}

/** Counts object members in valid JSON text: every ':' outside a string starts one. */
function countMembers(text: string): number {
  let n = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 58 /* : */) n++;
  }
  return n;
}

const OBJECT_PROTOTYPE = Object.prototype;

// --- Object input: copy into fresh plain objects, rejecting anything that is
// not plain JSON data. `__proto__` and `constructor` keys are copied as data.

function copyValue(
  v: unknown,
  depth: number,
  limits: ArgsLimits,
  counter: { nodes: number },
  path: Set<object>,
): unknown {
  if (++counter.nodes > limits.maxNodes) throw new ArgsRejection(`more than ${limits.maxNodes} values`);
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new ArgsRejection(`non-finite number (${v})`);
      return v;
    case 'bigint':
      throw new ArgsRejection('bigint is not JSON data');
    case 'undefined':
      throw new ArgsRejection('undefined is not JSON data');
    case 'function':
    case 'symbol':
      throw new ArgsRejection(`${typeof v} is not JSON data`);
    default:
      break;
  }
  if (v === null) return null;
  const obj = v as object;
  if (depth >= limits.maxDepth) throw new ArgsRejection(`nesting deeper than ${limits.maxDepth}`);
  if (path.has(obj)) throw new ArgsRejection('cyclic structure');
  path.add(obj);
  let out: unknown;
  if (Array.isArray(obj)) {
    if (Object.getPrototypeOf(obj) !== Array.prototype) throw new ArgsRejection('list subclass is not JSON data');
    const list: unknown[] = [];
    for (let i = 0; i < obj.length; i++) {
      const d = Object.getOwnPropertyDescriptor(obj, i);
      if (!d) throw new ArgsRejection('sparse list is not JSON data');
      if (!('value' in d)) throw new ArgsRejection('getter in list is not JSON data');
      list.push(copyValue(d.value, depth + 1, limits, counter, path));
    }
    out = Object.freeze(list);
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (proto as { constructor?: { name?: string } })?.constructor?.name ?? 'object';
      throw new ArgsRejection(`${name} instance is not plain JSON data`);
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) throw new ArgsRejection('symbol keys are not JSON data');
    const copy: Record<string, unknown> = {};
    // Own enumerable string keys; one descriptor each (getOwnPropertyDescriptors
    // for the whole object costs several times more).
    for (const key of Object.keys(obj)) {
      const d = Object.getOwnPropertyDescriptor(obj, key) as PropertyDescriptor;
      if (!('value' in d)) throw new ArgsRejection(`getter '${key}' is not JSON data`);
      const value = copyValue(d.value, depth + 1, limits, counter, path);
      // A key Object.prototype knows (`__proto__`, `constructor`, or one a
      // polluter added, maybe with a setter) is defined, so it stays data and
      // never runs a setter or sets a prototype; any other key is assigned.
      if (key in OBJECT_PROTOTYPE)
        Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
      else copy[key] = value;
    }
    out = Object.freeze(copy);
  }
  path.delete(obj);
  return out;
}

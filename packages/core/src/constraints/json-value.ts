/**
 * JSON value helpers shared by the engine: what counts as JSON data, deep
 * equality, and own-property path lookup (never reaching a prototype).
 */

/** Marks an operand that has no value (missing path, wrong type, error). */
export const MISSING: unique symbol = Symbol('missing');
export type Operand = unknown | typeof MISSING;

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Deep JSON equality. `true != 1`, `"500" != 500`, `[1] != 1`, `5 == 5.0`,
 * `0 == -0`. Returns `undefined` when either side is not JSON data (a class
 * instance, a function, a non-finite number): the comparison is undefined.
 */
export function jsonEqual(a: unknown, b: unknown): boolean | undefined {
  // Fast paths for the common scalar comparisons.
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (typeof a === 'number' && typeof b === 'number') {
    return Number.isFinite(a) && Number.isFinite(b) ? a === b : undefined;
  }
  if (!isJsonValue(a) || !isJsonValue(b)) return undefined;
  return deepEqual(a, b);
}

/** Structural equality of two values already known to be JSON data. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every(
    (k) => Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

function isJsonScalar(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** True for plain JSON data (finite numbers, strings, booleans, null, arrays, plain objects), checked deeply. */
export function isJsonValue(v: unknown, depth = 0): boolean {
  if (isJsonScalar(v)) return true;
  if (typeof v !== 'object' || depth > 256) return false;
  if (Array.isArray(v)) return v.every((x) => isJsonValue(x, depth + 1));
  if (!isPlainObject(v as object)) return false;
  return Object.keys(v as object).every((k) => isJsonValue((v as Record<string, unknown>)[k], depth + 1));
}

/**
 * The arguments as constraints see them: the object itself when it is a
 * plain object, `MISSING` otherwise (then every `args.*` path is missing).
 * Checked once per entry evaluated, so a one-key `args.x` lookup needs only an
 * own-property test.
 */
export function argsRoot(args: unknown): Operand {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return MISSING;
  const proto = Object.getPrototypeOf(args);
  return proto === Object.prototype || proto === null ? args : MISSING;
}

/** `root[key]` when `root` (from `argsRoot`) has it as an own property, else `MISSING`. */
export function ownMember(root: Operand, key: string): Operand {
  return root !== MISSING && Object.hasOwn(root as object, key) ? (root as Record<string, unknown>)[key] : MISSING;
}

/** Own-property lookup: names only into plain objects, integer indexes only into arrays. */
export function step(value: unknown, key: string | number): Operand {
  if (typeof value !== 'object' || value === null) return MISSING;
  if (Array.isArray(value)) {
    return typeof key === 'number' && key < value.length ? value[key] : MISSING;
  }
  if (typeof key !== 'string' || !isPlainObject(value)) return MISSING;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : MISSING;
}

/** Number of list items, object keys, or a string's code points. */
export function countOf(v: Operand): Operand {
  if (typeof v === 'string') {
    let n = 0;
    for (const _ of v) n++;
    return n;
  }
  if (Array.isArray(v)) return v.length;
  if (typeof v === 'object' && v !== null && isPlainObject(v)) return Object.keys(v).length;
  return MISSING;
}

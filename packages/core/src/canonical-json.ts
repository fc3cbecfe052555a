/**
 * Canonical JSON (object keys sorted by code unit, no whitespace) and sha256,
 * used for policy digests, approval binding and audit hash chains: the same
 * data always hashes the same, whatever the key order it was built with.
 */
import { createHash } from 'node:crypto';

/**
 * Throws `TypeError` for anything that is not JSON data (a non-finite number,
 * undefined, a function, a Date, Map or other class instance): coercing them
 * (NaN to null, a Date to `{}`) would make different values hash the same.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`not JSON data: ${value}`);
    const s = typeof value === 'bigint' ? undefined : JSON.stringify(value);
    if (s === undefined) throw new TypeError(`not JSON data: ${typeof value}`);
    return s;
  }
  if (!Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      throw new TypeError(`not JSON data: ${proto?.constructor?.name ?? 'an object with a custom prototype'}`);
  }
  // One string built in a loop (no temporary arrays): this runs for every audit record verified.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += `${i === 0 ? '' : ','}${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`;
  }
  return `${out}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 of the canonical JSON of `args`: binds an approval to the exact arguments decided. */
export function hashArgs(args: unknown): string {
  return sha256Hex(canonicalJson(args));
}

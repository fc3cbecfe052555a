/**
 * Canonical JSON (object keys sorted by code unit, no whitespace) and sha256,
 * used for policy digests, approval binding and audit hash chains: the same
 * data always hashes the same, whatever the key order it was built with.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    if (s === undefined) throw new TypeError(`not JSON data: ${typeof value}`);
    return s;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 of the canonical JSON of `args`: binds an approval to the exact arguments decided. */
export function hashArgs(args: unknown): string {
  return sha256Hex(canonicalJson(args));
}

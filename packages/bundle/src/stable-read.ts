/**
 * Reads until two consecutive reads, `settleMs` apart, are identical. A
 * file being written (truncated, then filled in chunks) changes between the
 * reads, so it is never handed to the parser half-written; a writer that
 * pauses longer than `settleMs` mid-file can still fool this, which is why
 * bundles also carry hashes and the README recommends atomic renames.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PolicySourceError } from './source-error.ts';

export async function readStable<T>(
  read: () => Promise<T>,
  keyOf: (value: T) => string,
  options: { settleMs: number; maxReads?: number; signal?: AbortSignal },
): Promise<{ value: T; key: string }> {
  const maxReads = options.maxReads ?? 5;
  let value = await read();
  let key = keyOf(value);
  for (let i = 1; i < maxReads; i++) {
    // Referenced on purpose: `await source.ready()` at start-up must keep the process alive.
    await sleep(options.settleMs, undefined, { signal: options.signal });
    const next = await read();
    const nextKey = keyOf(next);
    if (nextKey === key) return { value: next, key };
    value = next;
    key = nextKey;
  }
  throw new PolicySourceError(
    'unstable',
    `the policy kept changing across ${maxReads} reads; waiting for the write to finish`,
  );
}

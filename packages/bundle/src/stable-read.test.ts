import { describe, expect, it } from 'vitest';
import { PolicySourceError } from './source-error.ts';
import { readStable } from './stable-read.ts';

/** A reader returning the given snapshots in order (the last one repeats). */
function reads(...values: string[]) {
  let i = 0;
  const read = async () => values[Math.min(i++, values.length - 1)] as string;
  return { read, count: () => i };
}

describe('readStable', () => {
  it('returns only once two consecutive reads agree (a file still being written is never returned)', async () => {
    const r = reads('tools:\n  refu', 'tools:\n  refund: { mode: allow }\n');
    const { value } = await readStable(r.read, (v) => v, { settleMs: 1 });
    expect(value).toBe('tools:\n  refund: { mode: allow }\n');
    expect(r.count()).toBe(3);
  });

  it('gives up with an "unstable" error when the content keeps changing', async () => {
    const r = reads('a', 'b', 'c', 'd', 'e', 'f');
    const err = await readStable(r.read, (v) => v, { settleMs: 1, maxReads: 4 }).catch((e) => e);
    expect(err).toBeInstanceOf(PolicySourceError);
    expect(err.code).toBe('unstable');
    expect(r.count()).toBe(4);
  });
});

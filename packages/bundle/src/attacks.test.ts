/**
 * Red-team regressions: each test is an attack (or a careless use) that once
 * got an unverified, older or unconfirmed policy into force, leaked a
 * secret, or could take the host process down. They go through the public API.
 */
import { join } from 'node:path';
import { createEnforcer, HexgateError } from '@hexgate/core';
import { describe, expect, it } from 'vitest';
import { refund, refundPolicy, tempDir, track, writePolicy } from './__fixtures__/helpers.ts';
import { buildBundle, createPolicySource, verifyBundle } from './index.ts';

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('trust configuration', () => {
  it('an empty publicKey list is a configuration error, not "verify nothing"', async () => {
    // `publicKey: config.trustedKeys` with an empty list used to mean "no key": the unsigned
    // bundle below loaded and allowed the call.
    const dir = tempDir();
    const out = join(dir, 'bundle');
    await buildBundle(writePolicy(dir, refundPolicy(1_000_000)), { outDir: out });

    const e = thrown(() => track(createPolicySource(out, { publicKey: [] })));
    expect(HexgateError.isInstance(e) && e.code).toBe('INVALID_OPTIONS');
    expect((e as Error).message).toMatch(/publicKey.*empty/);
    await expect(verifyBundle(out, { publicKey: [] })).rejects.toThrow(/publicKey.*empty/);
    const url = 'http://127.0.0.1:1/policy';
    expect(() => createPolicySource(url, { publicKey: [], requireSignature: true })).toThrow(/empty/);

    // No key at all is still the documented development default.
    const dev = track(createPolicySource(out, { requireSignature: false }));
    await dev.ready();
    expect(createEnforcer({ policy: dev }).decide(refund(5)).decision.outcome).toBe('allow');
  });
});

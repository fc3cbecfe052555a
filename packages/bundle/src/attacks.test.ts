/**
 * Red-team regressions: each test is an attack (or a careless use) that once
 * got an unverified, older or unconfirmed policy into force, leaked a
 * secret, or could take the host process down. They go through the public API.
 */
import { join } from 'node:path';
import { createEnforcer, HexgateError } from '@hexgate/core';
import { describe, expect, it, vi } from 'vitest';
import { isError, nextEvent, refund, refundPolicy, tempDir, track, writePolicy } from './__fixtures__/helpers.ts';
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

describe('listeners', () => {
  it('an async onError/onLoad/subscribe listener that rejects is reported, not an unhandled rejection', async () => {
    // `onError: async (e) => webhook.post(e)` rejects exactly when the network is down, which is
    // when refreshes fail: an unhandled rejection there takes the whole host process down.
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const dir = tempDir();
      const p = writePolicy(dir, 'tools: [\n');
      const source = track(
        createPolicySource(p, {
          requireSignature: false,
          onError: async () => {
            throw new Error('webhook down');
          },
          onLoad: async () => {
            throw new Error('metrics down');
          },
        }),
      );
      source.subscribe(async () => {
        throw new Error('audit down');
      });
      await expect(source.ready()).rejects.toMatchObject({ code: 'policy-invalid' });
      writePolicy(dir, refundPolicy(5));
      expect(await source.refresh()).toMatchObject({ outcome: 'loaded' });
      const failed = nextEvent(source, isError, 'a failed refresh');
      writePolicy(dir, 'tools: [\n');
      void source.refresh();
      await failed;
      await new Promise((r) => setTimeout(r, 20));
      expect(rejections).toEqual([]);
      const warned = warn.mock.calls.map((c) => String(c[0])).join('\n');
      for (const m of ['webhook down', 'metrics down', 'audit down']) expect(warned).toContain(m);
      expect(createEnforcer({ policy: source }).decide(refund(5)).decision.outcome).toBe('allow');
    } finally {
      process.off('unhandledRejection', onRejection);
      warn.mockRestore();
    }
  });
});

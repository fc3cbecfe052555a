import { cpSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEnforcer, HexgateError } from '@hexgate/core';
import { describe, expect, it, vi } from 'vitest';
import {
  errorWith,
  isError,
  isLoaded,
  keys,
  nextEvent,
  refund,
  refundPolicy,
  tempDir,
  track,
  waitFor,
  writePolicy,
} from './__fixtures__/helpers.ts';
import {
  buildBundle,
  createPolicySource,
  PolicySourceError,
  type PolicySourceEvent,
  type PolicySourceOptions,
  watchPolicy,
} from './index.ts';

/** Replaces a directory in one rename, as a deployment would. */
function replaceDir(from: string, to: string) {
  const tmp = `${to}.incoming`;
  cpSync(from, tmp, { recursive: true });
  rmSync(to, { recursive: true, force: true });
  renameSync(tmp, to);
}

describe('YAML file sources', () => {
  it('hot-reloads: the next decision uses the new policy and records its digest', async () => {
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(undefined));
    const source = track(watchPolicy(p, { debounceMs: 10, requireSignature: false }));
    const first = await source.ready();
    const enforcer = createEnforcer({ policy: source });
    const before = enforcer.decide(refund(50)).decision;
    expect(before.outcome).toBe('deny');
    expect(before.policyDigest).toBe(first.policyDigest);

    const loaded = nextEvent(source, isLoaded, 'the reload');
    writeFileSync(p, refundPolicy(100));
    const event = await loaded;
    expect(event.previousDigest).toBe(first.policyDigest);
    const after = enforcer.decide(refund(50)).decision;
    expect(after.outcome).toBe('allow');
    expect(after.policyDigest).toBe(event.policyDigest);
    expect(after.policyDigest).not.toBe(before.policyDigest);
    expect(source.status()).toMatchObject({ kind: 'file', usable: true, revision: undefined, lastError: undefined });
  });

  it('keeps the last good policy when a refresh fails, reports why, and recovers', async () => {
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(100));
    const errors: PolicySourceEvent[] = [];
    const source = track(watchPolicy(p, { debounceMs: 10, requireSignature: false, onError: (e) => errors.push(e) }));
    const good = await source.ready();
    const enforcer = createEnforcer({ policy: source });

    let failed = nextEvent(source, isError, 'a syntax error');
    writeFileSync(p, 'tools:\n  refund: { mode: allow\n');
    let e = await failed;
    expect(e.error.code).toBe('policy-invalid');
    expect(e.policyInForce).toBe(true);
    expect(enforcer.decide(refund(50)).decision).toMatchObject({ outcome: 'allow', policyDigest: good.policyDigest });

    failed = nextEvent(source, isError, 'a schema error');
    writeFileSync(p, 'tools:\n  refund: { mode: alow }\n');
    e = await failed;
    expect(e.error.issues[0]).toMatchObject({ line: 2, message: expect.stringMatching(/unknown mode 'alow'/) });
    const status = source.status();
    expect(status).toMatchObject({ usable: true, policyDigest: good.policyDigest });
    expect(status.lastError?.code).toBe('policy-invalid');
    expect(status.consecutiveFailures).toBeGreaterThanOrEqual(1);
    expect(errors.length).toBeGreaterThanOrEqual(2);

    const loaded = nextEvent(source, isLoaded, 'the fixed policy');
    writeFileSync(p, refundPolicy(10));
    await loaded;
    expect(enforcer.decide(refund(50)).decision.outcome).toBe('deny');
    expect(source.status().lastError).toBeUndefined();
    expect(source.status().consecutiveFailures).toBe(0);
  });

  it('never loads a truncated write', async () => {
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(100));
    const source = track(watchPolicy(p, { debounceMs: 10, requireSignature: false }));
    const good = await source.ready();
    const loads: string[] = [];
    source.subscribe((e) => e.type === 'loaded' && loads.push(e.policyDigest));

    const full = `tools:\n  refund:\n    mode: allow\n    constraints: ['args.amount <= 5', 'args.currency == "EUR"']\n`;
    const failed = nextEvent(source, isError, 'the truncated file to be refused');
    writeFileSync(p, full.slice(0, full.indexOf('"EUR"') + 2)); // cut inside a quoted constraint
    await failed;
    expect(source.currentPolicy()).toMatchObject({ policy: { digest: good.policyDigest } });

    const loaded = nextEvent(source, isLoaded, 'the completed file');
    writeFileSync(p, full);
    await loaded;
    expect(loads).toHaveLength(1);
    const enforcer = createEnforcer({ policy: source });
    expect(enforcer.decide({ tool: 'refund', args: { amount: 5, currency: 'EUR' } }).decision.outcome).toBe('allow');
    expect(enforcer.decide({ tool: 'refund', args: { amount: 5, currency: 'US' } }).decision.outcome).toBe('deny');
  });

  it('denies every call while no good policy was ever loaded', async () => {
    const dir = tempDir();
    const p = writePolicy(dir, 'tools: [\n');
    const source = track(watchPolicy(p, { debounceMs: 10, requireSignature: false }));
    const err = await source.ready().catch((x) => x);
    expect(err).toBeInstanceOf(PolicySourceError);
    expect(err.code).toBe('policy-invalid');
    const enforcer = createEnforcer({ policy: source });
    const d = enforcer.decide(refund(1)).decision;
    expect(d.outcome).toBe('deny');
    expect(d.reason).toMatch(/no usable policy: no policy could be loaded from .*policy\.yaml/);
    expect(source.status()).toMatchObject({ usable: false, policyDigest: undefined });

    const loaded = nextEvent(source, isLoaded, 'the first good policy');
    writeFileSync(p, refundPolicy(100));
    await loaded;
    expect(enforcer.decide(refund(1)).decision.outcome).toBe('allow');
    await expect(source.ready()).resolves.toMatchObject({ usable: true });
  });

  it('follows atomic replacements: an editor-style rename and a Kubernetes ConfigMap symlink swap', async () => {
    const dir = tempDir();
    // ConfigMap volume layout: policy.yaml -> ..data/policy.yaml, ..data -> ..v1
    mkdirSync(join(dir, '..v1'));
    writePolicy(join(dir, '..v1'), refundPolicy(undefined));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/policy.yaml', join(dir, 'policy.yaml'));
    const source = track(watchPolicy(join(dir, 'policy.yaml'), { debounceMs: 10, requireSignature: false }));
    await source.ready();
    const enforcer = createEnforcer({ policy: source });
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('deny');

    let loaded = nextEvent(source, isLoaded, 'the ConfigMap update');
    mkdirSync(join(dir, '..v2'));
    writePolicy(join(dir, '..v2'), refundPolicy(100));
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await loaded;
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('allow');

    // An editor saving through a temp file and a rename over the (symlink) path.
    loaded = nextEvent(source, isLoaded, 'the editor save');
    writePolicy(dir, refundPolicy(1), '.policy.yaml.swp');
    renameSync(join(dir, '.policy.yaml.swp'), join(dir, 'policy.yaml'));
    await loaded;
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('deny');
    expect(enforcer.decide(refund(1)).decision.outcome).toBe('allow');
  });

  it('hot-reloads a policy directory when a role file is added', async () => {
    const dir = tempDir();
    const roles = join(dir, 'roles');
    mkdirSync(roles);
    writePolicy(roles, refundPolicy(undefined), 'default.yaml');
    const source = track(watchPolicy(roles, { debounceMs: 10, requireSignature: false }));
    await source.ready();
    expect(source.kind).toBe('directory');
    const enforcer = createEnforcer({ policy: source });
    const billing = { id: 'b', roles: ['billing'] };
    expect(enforcer.decide({ ...refund(5), user: billing }).decision.outcome).toBe('deny');
    const loaded = nextEvent(source, isLoaded, 'the new role');
    writePolicy(roles, refundPolicy(100), 'billing.yaml');
    await loaded;
    expect(enforcer.decide({ ...refund(5), user: billing }).decision).toMatchObject({
      outcome: 'allow',
      decidingRole: 'billing',
    });
  });

  it('refuses plain YAML when signatures are required (explicitly or by NODE_ENV=production)', () => {
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(1));
    const thrown = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e;
      }
    };
    const e1 = thrown(() => createPolicySource(p, { requireSignature: true }));
    expect(HexgateError.isInstance(e1) && e1.code).toBe('INVALID_OPTIONS');
    expect((e1 as Error).message).toMatch(/plain YAML policy.*cannot be signed/);
    vi.stubEnv('NODE_ENV', 'production');
    try {
      expect(() => createPolicySource(p)).toThrow(/NODE_ENV=production/);
    } finally {
      vi.unstubAllEnvs();
    }
    expect(() => createPolicySource(p, { requireSignature: false, minRevision: 3 })).toThrow(/bundles only/);
  });

  it('refuses unusable option values at creation, before reading anything', () => {
    const p = writePolicy(tempDir(), refundPolicy(1));
    const url = 'http://127.0.0.1:1/policy';
    expect(() => createPolicySource(p, { kind: 'ftp' as never })).toThrow(/unknown policy source kind 'ftp'/);
    expect(() => createPolicySource(p, { debounceMs: -1 })).toThrow(/debounceMs must be a non-negative number/);
    expect(() => createPolicySource(url, { timeoutMs: Number.NaN })).toThrow(/timeoutMs must be a non-negative/);
    // A NaN size limit would compare false and let any document through.
    expect(() => createPolicySource(url, { maxBytes: Number.NaN })).toThrow(
      /maxBytes must be a non-negative number of bytes/,
    );
  });
});

describe('bundle directory sources', () => {
  async function setup(options: Partial<PolicySourceOptions> = {}) {
    const dir = tempDir();
    const k = await keys(dir);
    const policyFile = writePolicy(dir, refundPolicy(10));
    const out = join(dir, 'bundle');
    const build = async (limit: number | undefined, extra: { revision?: number; outDir?: string } = {}) => {
      writePolicy(dir, refundPolicy(limit));
      return buildBundle(policyFile, { outDir: out, signKey: k.privateKeyPath, ...extra });
    };
    await build(10);
    const source = track(watchPolicy(out, { publicKey: k.publicKeyPath, debounceMs: 10, ...options }));
    await source.ready();
    return { dir, k, out, build, source, enforcer: createEnforcer({ policy: source }) };
  }

  it('picks up a new signed revision and refuses a tampered file, a replayed older revision and an unsigned bundle', async () => {
    const { dir, k, out, build, source, enforcer } = await setup();
    expect(source.status()).toMatchObject({ kind: 'bundle', revision: 1, signatureVerified: true, keyId: k.keyId });
    const rev1 = join(dir, 'rev1-copy');
    cpSync(out, rev1, { recursive: true });
    expect(enforcer.decide(refund(50)).decision.outcome).toBe('deny');

    let loaded = nextEvent(source, isLoaded, 'revision 2');
    await build(100);
    expect(await loaded).toMatchObject({ revision: 2 });
    expect(enforcer.decide(refund(50)).decision.outcome).toBe('allow');
    const rev2Digest = source.status().policyDigest;

    // Tampered file (someone edits the deployed YAML in place).
    let failed = nextEvent(source, errorWith('bundle-invalid'), 'the tampered file to be refused');
    writeFileSync(join(out, 'policy/policy.yaml'), refundPolicy(1_000_000));
    expect((await failed).error.problems.map((p) => p.code)).toContain('file-hash-mismatch');
    expect(enforcer.decide(refund(5000)).decision).toMatchObject({ outcome: 'deny', policyDigest: rev2Digest });

    loaded = nextEvent(source, isLoaded, 'revision 3');
    await build(200);
    expect(await loaded).toMatchObject({ revision: 3 });

    // A replayed, validly signed, older revision.
    failed = nextEvent(source, errorWith('rollback'), 'the replayed revision 1 to be refused');
    replaceDir(rev1, out);
    expect((await failed).error.message).toMatch(/revision 1 is older than revision 3/);
    expect(source.status()).toMatchObject({ revision: 3, usable: true });
    expect(enforcer.decide(refund(150)).decision.outcome).toBe('allow');

    // An unsigned bundle while a key is trusted.
    const unsigned = join(dir, 'unsigned');
    await buildBundle(writePolicy(dir, refundPolicy(1_000_000)), {
      outDir: unsigned,
      revision: 99,
      policyId: 'policy',
    });
    failed = nextEvent(source, errorWith('bundle-invalid'), 'the unsigned bundle to be refused');
    replaceDir(unsigned, out);
    expect((await failed).error.problems.map((p) => p.code)).toEqual(['unsigned']);
    expect(source.status().revision).toBe(3);
  });

  it('refuses the same revision with different content, and another policy id', async () => {
    const { dir, k, out, source } = await setup();
    const other = join(dir, 'other');
    await buildBundle(writePolicy(dir, refundPolicy(999), 'x.yaml'), {
      outDir: other,
      signKey: k.privateKeyPath,
      policyId: 'policy',
      revision: 1,
    });
    let failed = nextEvent(source, errorWith('rollback'), 'same revision, other content');
    replaceDir(other, out);
    expect((await failed).error.message).toMatch(/revision 1 was already accepted with different content/);

    const foreign = join(dir, 'foreign');
    await buildBundle(writePolicy(dir, refundPolicy(999), 'y.yaml'), {
      outDir: foreign,
      signKey: k.privateKeyPath,
      policyId: 'another-policy',
      revision: 50,
    });
    failed = nextEvent(source, errorWith('rollback'), 'a bundle of another policy id');
    replaceDir(foreign, out);
    expect((await failed).error.problems.map((p) => p.code)).toEqual(['policy-id-mismatch']);
    expect(source.status()).toMatchObject({ revision: 1, policyId: 'policy' });
  });

  it('stops using a bundle once it expires', async () => {
    const dir = tempDir();
    const k = await keys(dir);
    const out = join(dir, 'b');
    await buildBundle(writePolicy(dir, refundPolicy(100)), {
      outDir: out,
      signKey: k.privateKeyPath,
      expiresAt: new Date(Date.now() + 60_000),
    });
    let clock = Date.now();
    const source = track(createPolicySource(out, { publicKey: k.publicKeyPath, now: () => clock }));
    await source.ready();
    const enforcer = createEnforcer({ policy: source });
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('allow');
    clock += 120_000;
    const d = enforcer.decide(refund(5)).decision;
    expect(d.outcome).toBe('deny');
    expect(d.reason).toMatch(/expired at/);
    expect(source.status()).toMatchObject({ expired: true, usable: false });
    // And a refresh cannot revive it: the same bytes are now refused as expired... or confirmed but still expired.
    await source.refresh();
    expect(source.currentPolicy()).toHaveProperty('error');
  });

  it('fails closed when the policy has not been confirmed within maxStaleness', async () => {
    const dir = tempDir();
    const k = await keys(dir);
    const out = join(dir, 'b');
    await buildBundle(writePolicy(dir, refundPolicy(100)), { outDir: out, signKey: k.privateKeyPath });
    let clock = Date.now();
    const source = track(
      createPolicySource(out, { publicKey: k.publicKeyPath, maxStaleness: 1000, debounceMs: 1, now: () => clock }),
    );
    await source.ready();
    const enforcer = createEnforcer({ policy: source });
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('allow');

    clock += 2000;
    expect(enforcer.decide(refund(5)).decision.reason).toMatch(/not been confirmed since .*maxStaleness 1000/);
    expect(source.status()).toMatchObject({ stale: true, usable: false });

    expect(await source.refresh()).toMatchObject({ outcome: 'unchanged' });
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('allow');

    rmSync(out, { recursive: true });
    expect(await source.refresh()).toMatchObject({ outcome: 'failed', error: { code: 'read' } });
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('allow'); // last good, still within maxStaleness
    clock += 2000;
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('deny');
  });

  it('re-confirms a file source periodically when maxStaleness is set', async () => {
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(100));
    const source = track(
      watchPolicy(p, { requireSignature: false, maxStaleness: 60_000, intervalMs: 5, debounceMs: 1 }),
    );
    const first = (await source.ready()).lastSuccessAt;
    const seen = new Set([first]);
    await waitFor(() => {
      seen.add(source.status().lastSuccessAt);
      return seen.size >= 3;
    }, 'two periodic confirmations');
    expect(source.status()).toMatchObject({ usable: true, consecutiveFailures: 0 });
  });

  it('persists the highest revision so a restart cannot be rolled back (stateFile)', async () => {
    const { dir, k, out, build, source } = await setup();
    await source.close();
    const stateFile = join(dir, 'revision-state.json');
    const rev1 = join(dir, 'rev1-copy');
    cpSync(out, rev1, { recursive: true });
    await build(100); // revision 2

    const a = track(createPolicySource(out, { publicKey: k.publicKeyPath, stateFile, debounceMs: 1 }));
    expect(await a.ready()).toMatchObject({ revision: 2 });
    await a.close();

    replaceDir(rev1, out);
    const b = track(createPolicySource(out, { publicKey: k.publicKeyPath, stateFile, debounceMs: 1 }));
    const err = await b.ready().catch((e) => e);
    expect(err).toMatchObject({ code: 'rollback' });
    expect(createEnforcer({ policy: b }).decide(refund(1)).decision.outcome).toBe('deny');

    writeFileSync(stateFile, '{not json');
    expect(() => createPolicySource(out, { publicKey: k.publicKeyPath, stateFile })).toThrow(/corrupt/);
  });

  it('swaps atomically: currentPolicy is one stable object between reloads', async () => {
    const { build, source } = await setup();
    const a = source.currentPolicy();
    expect(source.currentPolicy()).toBe(a);
    const loaded = nextEvent(source, isLoaded, 'revision 2');
    await build(100);
    await loaded;
    const b = source.currentPolicy();
    expect(b).not.toBe(a);
    expect('policy' in a && 'policy' in b && a.policy.digest !== b.policy.digest).toBe(true);
  });

  it('denies after close() and stops refreshing', async () => {
    const { source, enforcer } = await setup();
    await source.close();
    expect(enforcer.decide(refund(1)).decision.reason).toMatch(/closed/);
    expect(source.status().closed).toBe(true);
    expect(await source.refresh()).toMatchObject({ outcome: 'failed' });
  });

  it('needs a trusted key when signatures are required', async () => {
    const { out } = await setup();
    expect(() => createPolicySource(out, { requireSignature: true })).toThrow(/no trusted publicKey/);
  });
});

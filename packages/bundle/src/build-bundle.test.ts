import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, loadPolicy, PolicyLoadError } from '@hexgate/core';
import { describe, expect, it } from 'vitest';
import { keys, refundPolicy, tempDir, writePolicy } from './__fixtures__/helpers.ts';
import { buildBundle, verifyBundle } from './index.ts';

describe('buildBundle', () => {
  it('writes the policy files, a canonical manifest and a detached signature', async () => {
    const dir = tempDir();
    const k = await keys(dir);
    const policyPath = writePolicy(dir, refundPolicy(100), 'support.yaml');
    const out = join(dir, 'bundle');
    const built = await buildBundle(policyPath, {
      outDir: out,
      signKey: k.privateKeyPath,
      expiresAt: '2999-01-01T00:00:00Z',
    });

    expect(readdirSync(out).sort()).toEqual(['manifest.json', 'manifest.sig', 'policy']);
    expect(readFileSync(join(out, 'policy/policy.yaml'), 'utf8')).toBe(refundPolicy(100));
    const text = readFileSync(join(out, 'manifest.json'), 'utf8');
    const manifest = JSON.parse(text);
    expect(text).toBe(canonicalJson(manifest));
    expect(manifest).toMatchObject({
      format: 'hexgate-bundle/1',
      policyId: 'support',
      revision: 1,
      keyId: k.keyId,
      expiresAt: '2999-01-01T00:00:00.000Z',
      policy: { kind: 'file', digest: (await loadPolicy(policyPath)).digest },
    });
    expect(Object.keys(manifest.files)).toEqual(['policy/policy.yaml']);
    expect(manifest.files['policy/policy.yaml'].size).toBe(Buffer.byteLength(refundPolicy(100)));
    expect(built.signed).toBe(true);

    const v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(v.problems).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.signatureVerified).toBe(true);
  });

  it('bundles a policy directory, one file per role', async () => {
    const dir = tempDir();
    const roles = join(dir, 'roles');
    mkdirSync(roles);
    writePolicy(roles, refundPolicy(10), 'default.yaml');
    writePolicy(roles, refundPolicy(500), 'billing.yaml');
    writeFileSync(join(roles, 'README.md'), 'not a role');
    const out = join(dir, 'out');
    const built = await buildBundle(roles, { outDir: out });
    expect(built.manifest.policy.kind).toBe('directory');
    expect(Object.keys(built.manifest.files).sort()).toEqual(['policy/billing.yaml', 'policy/default.yaml']);
    expect(built.manifest.keyId).toBeNull();
    expect(existsSync(join(out, 'manifest.sig'))).toBe(false);
    expect(built.policyDigest).toBe((await loadPolicy(roles)).digest);
  });

  it('defaults the revision to the previous one + 1 and refuses to go backwards', async () => {
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(1));
    const out = join(dir, 'out');
    expect((await buildBundle(p, { outDir: out })).manifest.revision).toBe(1);
    expect((await buildBundle(p, { outDir: out })).manifest.revision).toBe(2);
    expect((await buildBundle(p, { outDir: out, revision: 10 })).manifest.revision).toBe(10);
    await expect(buildBundle(p, { outDir: out, revision: 10 })).rejects.toThrow(/not greater than .* 10/);
    await expect(buildBundle(p, { outDir: out, revision: 3 })).rejects.toThrow(/only move forward/);
    expect((await buildBundle(p, { outDir: out })).manifest.revision).toBe(11);
    expect(readdirSync(dir).sort()).toEqual(['out', 'policy.yaml']); // no temp directories left behind
  });

  it('keeps the policy id of the bundle in outDir and refuses a different one', async () => {
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(1));
    const out = join(dir, 'out');
    await buildBundle(p, { outDir: out, policyId: 'payments' });
    expect((await buildBundle(p, { outDir: out })).manifest.policyId).toBe('payments');
    await expect(buildBundle(p, { outDir: out, policyId: 'other' })).rejects.toThrow(/policy 'payments'/);
    await expect(buildBundle(p, { outDir: join(dir, 'x'), policyId: '../evil' })).rejects.toThrow(/invalid policy id/);
  });

  it('refuses invalid policies, past expiry and non-bundle output directories without writing anything', async () => {
    const dir = tempDir();
    const bad = writePolicy(dir, 'tools:\n  refund: { mode: alow }\n', 'bad.yaml');
    const out = join(dir, 'out');
    const err = await buildBundle(bad, { outDir: out }).catch((e) => e);
    expect(PolicyLoadError.isInstance(err)).toBe(true);
    expect(err.issues[0].message).toMatch(/unknown mode 'alow'/);
    expect(existsSync(out)).toBe(false);

    const good = writePolicy(dir, refundPolicy(1));
    await expect(buildBundle(good, { outDir: out, expiresAt: '2001-01-01T00:00:00Z' })).rejects.toThrow(
      /not in the future/,
    );
    const notBundle = join(dir, 'docs');
    mkdirSync(notBundle);
    writeFileSync(join(notBundle, 'keep.txt'), 'precious');
    await expect(buildBundle(good, { outDir: notBundle })).rejects.toThrow(/refusing to overwrite/);
    expect(readFileSync(join(notBundle, 'keep.txt'), 'utf8')).toBe('precious');
  });
});

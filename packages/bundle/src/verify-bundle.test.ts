import { createHash, sign } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PolicyLoadError } from '@hexgate/core';
import { describe, expect, it, vi } from 'vitest';
import { keys, refundPolicy, tempDir, writePolicy } from './__fixtures__/helpers.ts';
import { BundleVerificationError, buildBundle, loadBundle, loadPrivateKey, verifyBundle } from './index.ts';

async function signedBundle(policy = refundPolicy(100)) {
  const dir = tempDir();
  const k = await keys(dir);
  const out = join(dir, 'bundle');
  await buildBundle(writePolicy(dir, policy), { outDir: out, signKey: k.privateKeyPath });
  return { dir, out, k };
}

const codes = (v: { problems: readonly { code: string }[] }) => v.problems.map((p) => p.code);

/** Replaces the policy file of a signed bundle and re-signs the manifest, as a compromised build could. */
function resignWithPolicy(out: string, policy: Buffer): void {
  writeFileSync(join(out, 'policy/policy.yaml'), policy);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  manifest.files['policy/policy.yaml'] = {
    sha256: createHash('sha256').update(policy).digest('hex'),
    size: policy.length,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  writeFileSync(join(out, 'manifest.json'), bytes);
  writeFileSync(
    join(out, 'manifest.sig'),
    sign(null, bytes, loadPrivateKey(join(out, '..', 'signing.key'))).toString('base64'),
  );
}

describe('verifyBundle', () => {
  it('accepts an intact signed bundle', async () => {
    const { out, k } = await signedBundle();
    const v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(v).toMatchObject({ ok: true, problems: [], signed: true, signatureVerified: true });
    expect(v.manifest?.revision).toBe(1);
  });

  it('reports a tampered policy file', async () => {
    const { out, k } = await signedBundle();
    writeFileSync(join(out, 'policy/policy.yaml'), refundPolicy(1_000_000));
    const v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([expect.objectContaining({ code: 'file-hash-mismatch', file: 'policy/policy.yaml' })]);
  });

  it('reports files that are not listed, missing, or symlinks', async () => {
    const { out, k } = await signedBundle();
    writePolicy(join(out, 'policy'), refundPolicy(5), 'extra.yaml');
    writeFileSync(join(out, 'notes.txt'), 'hi');
    let v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(codes(v).sort()).toEqual(['file-unlisted', 'file-unlisted']);
    expect(v.problems.map((p) => p.file).sort()).toEqual(['notes.txt', 'policy/extra.yaml']);

    rmSync(join(out, 'notes.txt'));
    rmSync(join(out, 'policy/extra.yaml'));
    const original = readFileSync(join(out, 'policy/policy.yaml'));
    rmSync(join(out, 'policy/policy.yaml'));
    v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(codes(v)).toEqual(['file-missing']);

    const elsewhere = join(out, '..', 'elsewhere.yaml');
    writeFileSync(elsewhere, original);
    symlinkSync(elsewhere, join(out, 'policy/policy.yaml'));
    v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(codes(v)).toContain('unsafe-path');
    expect(v.ok).toBe(false);
  });

  it('checks the signature before parsing the manifest', async () => {
    const { out, k } = await signedBundle();
    // Not even JSON any more: a parser-first verifier would report manifest-invalid.
    appendFileSync(join(out, 'manifest.json'), '}garbage');
    const v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(codes(v)).toEqual(['bad-signature']);
    expect(v.manifest).toBeUndefined();
  });

  it('refuses a bundle signed by another key, and an unsigned one, once a key is trusted', async () => {
    const { out, dir } = await signedBundle();
    const other = await keys(dir, 'other');
    expect(codes(await verifyBundle(out, { publicKey: other.publicKeyPath }))).toEqual(['bad-signature']);

    rmSync(join(out, 'manifest.sig'));
    expect(codes(await verifyBundle(out, { publicKey: other.publicKeyPath }))).toEqual(['unsigned']);
    // With no key and no requirement, an unsigned bundle is accepted but reported as unverified.
    const open = await verifyBundle(out, { requireSignature: false });
    expect(open).toMatchObject({ ok: true, signed: false, signatureVerified: false });
  });

  it('accepts any of several trusted keys (rotation)', async () => {
    const { out, dir, k } = await signedBundle();
    const next = await keys(dir, 'next');
    expect((await verifyBundle(out, { publicKey: [next.publicKeyPath, k.publicKeyPath] })).ok).toBe(true);
  });

  it('requires signatures by default when NODE_ENV=production', async () => {
    const dir = tempDir();
    const out = join(dir, 'b');
    await buildBundle(writePolicy(dir, refundPolicy(1)), { outDir: out });
    vi.stubEnv('NODE_ENV', 'production');
    try {
      expect(codes(await verifyBundle(out))).toEqual(['unsigned']);
      expect((await verifyBundle(out, { requireSignature: false })).ok).toBe(true);
    } finally {
      vi.unstubAllEnvs();
    }
    expect((await verifyBundle(out)).ok).toBe(true);
  });

  it('refuses an expired bundle', async () => {
    const { dir, k } = await signedBundle();
    const out = join(dir, 'expiring');
    await buildBundle(writePolicy(dir, refundPolicy(1)), {
      outDir: out,
      signKey: k.privateKeyPath,
      expiresAt: new Date(Date.now() + 60_000),
    });
    expect((await verifyBundle(out, { publicKey: k.publicKeyPath })).ok).toBe(true);
    const later = await verifyBundle(out, { publicKey: k.publicKeyPath, now: () => Date.now() + 120_000 });
    expect(codes(later)).toEqual(['expired']);
  });

  it('reports an invalid policy inside a correctly signed bundle with its positions', async () => {
    const { out, k } = await signedBundle();
    resignWithPolicy(out, Buffer.from('tools:\n  refund: { mode: alow }\n'));
    const v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(codes(v)).toEqual(['policy-invalid']);
    expect(v.problems[0]?.issues?.[0]).toMatchObject({
      line: 2,
      message: expect.stringMatching(/unknown mode 'alow'/),
    });
  });

  it('reports policy bytes that are not UTF-8 inside a correctly signed bundle, naming the file', async () => {
    const { out, k } = await signedBundle();
    resignWithPolicy(out, Buffer.from([0x74, 0x6f, 0x6f, 0x6c, 0x73, 0x3a, 0xff, 0x0a]));
    const v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(codes(v)).toEqual(['policy-invalid']);
    expect(v.problems[0]?.issues).toEqual([
      { file: join(out, 'policy/policy.yaml'), line: 1, column: 1, message: 'the policy file is not valid UTF-8' },
    ]);
  });

  it('reports a missing bundle directory without throwing', async () => {
    const v = await verifyBundle(join(tempDir(), 'nope'), { requireSignature: false });
    expect(codes(v)).toEqual(['manifest-missing']);
  });
});

describe('loadBundle', () => {
  it('returns the policy of a valid bundle and throws BundleVerificationError (a PolicyLoadError) otherwise', async () => {
    const { out, k } = await signedBundle();
    const loaded = await loadBundle(out, { publicKey: k.publicKeyPath });
    expect(loaded.policy.evaluate('refund', { amount: 50 }, undefined).outcome).toBe('allow');
    expect(loaded.manifest.revision).toBe(1);

    writeFileSync(join(out, 'policy/policy.yaml'), refundPolicy(999));
    const err = await loadBundle(out, { publicKey: k.publicKeyPath }).catch((e) => e);
    expect(err).toBeInstanceOf(BundleVerificationError);
    expect(PolicyLoadError.isInstance(err)).toBe(true);
    expect(err.problems[0].code).toBe('file-hash-mismatch');
    expect(err.message).toMatch(/policy\/policy.yaml/);
  });
});

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { refundPolicy, tempDir, writePolicy } from './__fixtures__/helpers.ts';
import { BUNDLE_COMMAND_OPTIONS, runBundleCommand, runParsedBundleCommand, verifyBundle } from './index.ts';

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, cwd },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

describe('runBundleCommand (hexgate policy ...)', () => {
  it('keygen, build and verify a signed bundle', async () => {
    const dir = tempDir();
    writePolicy(dir, refundPolicy(100), 'support.yaml');
    const t = io(dir);
    expect(await runBundleCommand(['keygen', '--out', 'keys/release'], t.io)).toBe(1); // no such directory
    expect(await runBundleCommand(['keygen', '--out', 'release'], t.io)).toBe(0);
    expect(t.stdout()).toMatch(/key id [0-9a-f]{32}/);
    if (process.platform !== 'win32') expect(statSync(join(dir, 'release.key')).mode & 0o777).toBe(0o600);
    expect(await runBundleCommand(['keygen', '--out', 'release'], t.io)).toBe(1);
    expect(t.stderr()).toMatch(/already exists; pass force/);

    const code = await runBundleCommand(
      [
        'policy',
        'build',
        'support.yaml',
        '--out',
        'dist',
        '--sign-key',
        'release.key',
        '--revision',
        '7',
        '--policy-id',
        'support',
        '--expires-at',
        '2999-01-01T00:00:00Z',
      ],
      t.io,
    );
    expect(code).toBe(0);
    expect(t.stdout()).toMatch(/revision {4}7/);
    const v = await verifyBundle(join(dir, 'dist'), { publicKey: join(dir, 'release.pub') });
    expect(v.manifest).toMatchObject({ policyId: 'support', revision: 7, expiresAt: '2999-01-01T00:00:00.000Z' });

    const ok = io(dir);
    expect(await runBundleCommand(['verify', 'dist', '--pubkey', 'release.pub'], ok.io)).toBe(0);
    expect(ok.stdout()).toMatch(/^OK .*dist\n {2}policy id {3}support\n {2}revision {4}7/);

    // Next build without --revision moves to 8; an explicit lower one is refused.
    expect(await runBundleCommand(['build', 'support.yaml', '--out', 'dist', '--sign-key', 'release.key'], t.io)).toBe(
      0,
    );
    expect(JSON.parse(readFileSync(join(dir, 'dist/manifest.json'), 'utf8')).revision).toBe(8);
    const back = io(dir);
    expect(await runBundleCommand(['build', 'support.yaml', '--out', 'dist', '--revision', '3'], back.io)).toBe(1);
    expect(back.stderr()).toMatch(/only move forward/);
  });

  it('verify exits 1 and names every problem of a tampered bundle', async () => {
    const dir = tempDir();
    writePolicy(dir, refundPolicy(100));
    const t = io(dir);
    await runBundleCommand(['keygen', '--out', 'k'], t.io);
    await runBundleCommand(['build', 'policy.yaml', '--out', 'b', '--sign-key', 'k.key'], t.io);
    writeFileSync(join(dir, 'b/policy/policy.yaml'), refundPolicy(1_000_000));
    writeFileSync(join(dir, 'b/policy/extra.yaml'), refundPolicy(1));
    const bad = io(dir);
    expect(await runBundleCommand(['verify', 'b', '--pubkey', 'k.pub'], bad.io)).toBe(1);
    expect(bad.stderr()).toMatch(/^INVALID /);
    expect(bad.stderr()).toMatch(/\[file-hash-mismatch\] policy\/policy.yaml:/);
    expect(bad.stderr()).toMatch(/\[file-unlisted\] policy\/extra.yaml:/);

    const json = io(dir);
    expect(await runBundleCommand(['verify', 'b', '--pubkey', 'k.pub', '--json'], json.io)).toBe(1);
    expect(
      JSON.parse(json.stdout())
        .problems.map((p: { code: string }) => p.code)
        .sort(),
    ).toEqual(['file-hash-mismatch', 'file-unlisted']);

    await runBundleCommand(['keygen', '--out', 'other'], t.io);
    const wrongKey = io(dir);
    writeFileSync(join(dir, 'b/policy/policy.yaml'), refundPolicy(100));
    expect(await runBundleCommand(['verify', 'b', '--pubkey', 'other.pub'], wrongKey.io)).toBe(1);
    expect(wrongKey.stderr()).toMatch(/\[bad-signature\]/);
  });

  it('build reports policy errors with positions and writes nothing', async () => {
    const dir = tempDir();
    writePolicy(dir, 'tools:\n  refund: { mode: alow }\n');
    const t = io(dir);
    expect(await runBundleCommand(['build', 'policy.yaml', '--out', 'b'], t.io)).toBe(1);
    expect(t.stderr()).toMatch(/policy\.yaml:2:\d+: unknown mode 'alow'/);
    expect(existsSync(join(dir, 'b'))).toBe(false);
  });

  it('usage errors exit 2 with the usage text', async () => {
    const dir = tempDir();
    for (const argv of [
      [],
      ['frobnicate'],
      ['build', 'p.yaml'],
      ['build', '--out', 'x'],
      ['build', 'p.yaml', '--out', 'x', '--revision', 'two'],
      ['keygen'],
      ['verify', 'b'],
      ['verify', 'b', '--pubkey', 'k.pub', '--bogus'],
    ]) {
      const t = io(dir);
      expect(await runBundleCommand(argv, t.io), argv.join(' ')).toBe(2);
      expect(t.stderr()).toMatch(/Usage:/);
    }
    const help = io(dir);
    expect(await runBundleCommand(['build', '--help'], help.io)).toBe(0);
    expect(help.stdout()).toMatch(/hexgate policy build <policy> --out <dir>/);
  });

  it('runs options a CLI framework already parsed with BUNDLE_COMMAND_OPTIONS', async () => {
    const dir = tempDir();
    writePolicy(dir, refundPolicy(100));
    expect(Object.keys(BUNDLE_COMMAND_OPTIONS.build)).toEqual([
      'out',
      'sign-key',
      'revision',
      'policy-id',
      'expires-at',
    ]);
    const t = io(dir);
    const built = await runParsedBundleCommand(
      'build',
      { values: { out: 'b', revision: '4' }, positionals: ['policy.yaml'] },
      t.io,
    );
    expect(built).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'b/manifest.json'), 'utf8')).revision).toBe(4);
    const missing = io(dir);
    expect(await runParsedBundleCommand('verify', { values: {}, positionals: ['b'] }, missing.io)).toBe(2);
    expect(missing.stderr()).toMatch(/^error: policy verify needs --pubkey <key>/);
  });
});

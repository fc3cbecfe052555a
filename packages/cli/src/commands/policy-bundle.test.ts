import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, tempFiles } from '../__fixtures__/run.ts';

const POLICY = "tools:\n  refund:\n    mode: allow\n    constraints: ['args.amount <= 100']\n";

describe('hexgate policy keygen | build | verify (delegated to @hexgate/bundle)', () => {
  it('creates a key, builds a signed bundle and verifies it; a tampered bundle fails', async () => {
    const cwd = tempFiles({ 'support.yaml': POLICY });
    const keygen = await run(['policy', 'keygen', '--out', 'release'], { cwd });
    expect(keygen.code).toBe(0);
    expect(keygen.stdout).toMatch(/key id [0-9a-f]{32}/);
    expect((await run(['policy', 'keygen', '--out', 'release'], { cwd })).code).toBe(1);
    expect((await run(['policy', 'keygen', '--out', 'release', '--force'], { cwd })).code).toBe(0);

    const build = await run(
      ['policy', 'build', 'support.yaml', '--out', 'bundle', '--sign-key', 'release.key', '--revision', '3'],
      { cwd },
    );
    expect(build.code).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, 'bundle/manifest.json'), 'utf8'))).toMatchObject({
      policyId: 'support',
      revision: 3,
    });

    const ok = await run(['policy', 'verify', 'bundle', '--pubkey', 'release.pub'], { cwd });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^OK /);

    writeFileSync(join(cwd, 'bundle/policy/policy.yaml'), POLICY.replace('100', '1000000'));
    const bad = await run(['policy', 'verify', 'bundle', '--pubkey', 'release.pub', '--json'], { cwd });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).problems[0].code).toBe('file-hash-mismatch');
  });

  it('usage errors exit 2', async () => {
    const cwd = tempFiles({});
    expect((await run(['policy', 'build', 'support.yaml'], { cwd })).code).toBe(2);
    expect((await run(['policy', 'verify', 'bundle'], { cwd })).code).toBe(2);
    expect((await run(['policy', 'keygen', '--bogus'], { cwd })).code).toBe(2);
  });
});

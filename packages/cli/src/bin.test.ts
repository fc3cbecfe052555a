/** One end-to-end run of the real entry point (shebang file, process exit code, real stdio). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO } from './__fixtures__/run.ts';

const BIN = fileURLToPath(new URL('./bin.ts', import.meta.url));

describe('bin', () => {
  it('starts with a node shebang', () => {
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('runs `hexgate policy test` as a process and exits with its code', () => {
    const env = { ...process.env, NO_COLOR: '1' };
    const r = spawnSync(
      process.execPath,
      [
        '--conditions=@hexgate/source',
        '--import',
        'tsx',
        BIN,
        'policy',
        'test',
        'examples/policies/customer-support.yaml',
        '--tool',
        'refund_order',
        '--user-id',
        'bea',
        '--role',
        'billing',
        '--args',
        '{"amount": 900, "currency": "USD"}',
      ],
      { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toBe('✗ DENY refund_order');
    expect(r.status).toBe(1);
  });
});

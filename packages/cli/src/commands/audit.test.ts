import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditTrail, sqliteAudit } from '@hexgate/audit';
import { createEnforcer, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../__fixtures__/run.ts';

describe('hexgate audit (routed to @hexgate/audit)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hexgate-cli-audit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    const trail = createAuditTrail({ sink: sqliteAudit(join(dir, 'audit.db')), exitHandler: false });
    const policy = testPolicy(`
      roles:
        default:
          tools:
            search: { mode: allow }
    `);
    const enforcer = createEnforcer({ policy, recorder: trail });
    runWithUser({ id: 'alice' }, () => {
      enforcer.decide({ tool: 'search', args: { q: 'x' } });
      enforcer.decide({ tool: 'delete_all', args: {} });
    });
    await trail.close();
  });

  it('verifies and lists a trail, with a path relative to the working directory', async () => {
    const verify = await run(['audit', 'verify', '--db', 'sqlite:audit.db'], { cwd: dir });
    expect(verify).toMatchObject({ code: 0, stderr: '' });
    expect(verify.stdout).toContain('verified 2 record(s)');
    const blocked = await run(['audit', 'blocked', '--format', 'json'], {
      cwd: dir,
      env: { HEXGATE_AUDIT_DB: 'sqlite:audit.db' },
    });
    expect(JSON.parse(blocked.stdout).records.map((r: { tool: string }) => r.tool)).toEqual(['delete_all']);
  });

  it('shows its help and rejects unknown options like every command', async () => {
    expect((await run(['audit', '--help'])).stdout).toContain('hexgate audit <command>');
    expect(await run(['audit', 'list', '--nope'])).toMatchObject({ code: 2 });
    expect(await run(['audit'])).toMatchObject({ code: 2 });
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ago, approvalEvent, decisionEvent } from '../__fixtures__/events.ts';
import { createTestDatabase } from '../__fixtures__/pg-database.ts';
import { type AuditSink, createAuditTrail, jsonlAudit, postgresAudit, runAuditCommand, sqliteAudit } from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'hexgate-audit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const now = new Date();

async function seed(sink: AuditSink): Promise<void> {
  const trail = createAuditTrail({ sink, exitHandler: false });
  const wire = decisionEvent({
    tool: 'wire',
    userId: 'carol',
    outcome: 'approval_required',
    effective: 'approval_required',
    timestamp: ago(now, 2),
  });
  const events = [
    decisionEvent({ tool: 'refund', userId: 'old', timestamp: ago(now, 100) }),
    decisionEvent({
      tool: 'refund',
      userId: 'bob',
      outcome: 'deny',
      effective: 'deny',
      reason: 'amount too high',
      timestamp: ago(now, 3),
    }),
    wire,
    decisionEvent({ tool: 'search', userId: 'alice', timestamp: ago(now, 0, 2) }),
    decisionEvent({
      tool: 'refund',
      userId: 'alice',
      outcome: 'deny',
      effective: 'deny',
      reason: 'currency',
      timestamp: ago(now, 0, 1),
    }),
  ];
  for (const e of events) trail.recordDecision(e);
  trail.recordApproval(approvalEvent(wire, 'approved', { approver: 'erin', timestamp: ago(now, 2) }));
  await trail.close();
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditCommand(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
  });
  return { code, out, err };
}

const targets: [string, () => Promise<string>][] = [
  [
    'sqlite',
    async () => {
      const path = join(dir, 'cli.db');
      await seed(sqliteAudit(path));
      return `sqlite:${path}`;
    },
  ],
  [
    'postgres',
    async () => {
      const url = await createTestDatabase('cli');
      await seed(postgresAudit(url));
      return url;
    },
  ],
];

describe.each(targets)('hexgate audit on %s', (_name, make) => {
  let db = '';
  beforeAll(async () => {
    db = await make();
  });

  it('list: a readable table, newest first, filtered', async () => {
    const { code, out } = await cli('list', '--db', db);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME \(UTC\)\s+SEQ\s+KIND\s+TOOL\s+USER\s+OUTCOME\s+ROLE\s+REASON$/);
    expect(lines[1]).toMatch(/^─+/);
    expect(lines).toHaveLength(8);
    expect(lines[2]).toMatch(/\s6\s+approval:approved\s+wire\s+carol\s.*approved by erin/);
    const filtered = await cli('list', '--db', db, '--tool', 'refund', '--outcome', 'deny', '--format', 'json');
    const page = JSON.parse(filtered.out);
    expect(page.records.map((r: { userId: string }) => r.userId)).toEqual(['alice', 'bob']);
  });

  it('list: paginates with --limit and --cursor', async () => {
    const first = JSON.parse((await cli('list', '--db', db, '--limit', '4', '--format', 'json')).out);
    expect(first.records).toHaveLength(4);
    const second = JSON.parse(
      (await cli('list', '--db', db, '--limit', '4', '--cursor', first.nextCursor, '--format', 'json')).out,
    );
    expect(second.records.map((r: { seq: number }) => r.seq)).toEqual([2, 1]);
    const table = await cli('list', '--db', db, '--limit', '4');
    expect(table.out).toContain(`more records: add --cursor ${first.nextCursor}`);
  });

  it('blocked: windows 24h / 7d / 30d', async () => {
    const count = async (last: string) =>
      JSON.parse((await cli('blocked', '--db', db, '--last', last, '--format', 'json')).out).records.length;
    expect(await count('24h')).toBe(1);
    expect(await count('7d')).toBe(2);
    expect(await count('30d')).toBe(2);
    const none = await cli('blocked', '--db', db, '--user', 'nobody');
    expect(none.out).toBe('nothing was blocked in the last 24h\n');
  });

  it('stats: per-tool table and JSON', async () => {
    const table = await cli('stats', '--db', db);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^TOOL\s+TOTAL\s+ALLOW\s+DENY\s+APPROVAL\s+BLOCK RATE\s+P50\s+P99\s+TOP DENY REASON/);
    expect(table.out).toMatch(/refund\s+3\s+1\s+2\s+0\s+66\.7%/);
    const json = JSON.parse((await cli('stats', '--db', db, '--format', 'json', '--since', '7d')).out);
    expect(json.find((s: { tool: string }) => s.tool === 'refund')).toMatchObject({ total: 2, deny: 2, blockRate: 1 });
    const csv = await cli('stats', '--db', db, '--format', 'csv');
    expect(csv.out.split('\r\n')[0]).toBe(
      'tool,total,allow,deny,approvalRequired,blocked,blockRate,p50Ms,p99Ms,topDenyReason',
    );
  });

  it('trail: one user in order', async () => {
    const { out } = await cli('trail', 'carol', '--db', db, '--format', 'json');
    expect(JSON.parse(out).records.map((r: { kind: string }) => r.kind)).toEqual(['decision', 'approval']);
  });

  it('export: CSV and JSON, to stdout or a file', async () => {
    const csv = await cli('export', '--db', db, '--format', 'csv');
    expect(csv.out.trimEnd().split('\r\n')).toHaveLength(7);
    const file = join(dir, `export-${_name}.json`);
    const toFile = await cli('export', '--db', db, '--out', file, '--user', 'alice');
    expect(toFile.err).toBe(`exported 2 record(s) to ${file}\n`);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toHaveLength(2);
  });

  it('verify, then cleanup: dry run first, --yes deletes, verify still passes', async () => {
    const ok = await cli('verify', '--db', db);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('verified 6 record(s): every hash chain is intact');
    const dry = await cli('cleanup', '--db', db, '--older-than', '30');
    expect(dry.out).toContain('dry run: 1 record(s) older than');
    expect(dry.out).toMatch(/WOULD DELETE/);
    expect(JSON.parse((await cli('list', '--db', db, '--format', 'json')).out).records).toHaveLength(6);
    const real = await cli('cleanup', '--db', db, '--older-than', '30', '--yes');
    expect(real.out).toContain('deleted 1 record(s)');
    const after = await cli('verify', '--db', db, '--format', 'json');
    expect(JSON.parse(after.out)).toMatchObject({ ok: true, records: 5, chains: [{ anchorSeq: 1 }] });
  });
});

describe('hexgate audit: errors and options', () => {
  it('verify exits 1 and names the first broken record', async () => {
    const path = join(dir, 'broken.db');
    const store = sqliteAudit(path);
    await seed(store);
    const raw = sqliteAudit(path);
    raw.database.exec("UPDATE hexgate_audit SET user_id = 'mallory' WHERE seq = 3");
    await raw.close();
    const { code, out } = await cli('verify', '--db', `sqlite:${path}`);
    expect(code).toBe(1);
    expect(out).toMatch(/BROKEN \(tampered\)/);
    expect(out).toContain("FIRST PROBLEM: chain 'default', seq 3: record 3 was modified");
  });

  it('stats --format csv: cells a spreadsheet would run are neutralized, as in export', async () => {
    const path = join(dir, 'formula.db');
    const trail = createAuditTrail({ sink: sqliteAudit(path), exitHandler: false });
    const denied = { outcome: 'deny', effective: 'deny', reason: '@SUM(1)' } as const;
    trail.recordDecision(decisionEvent({ tool: '=HYPERLINK("http://x")', ...denied }));
    await trail.close();
    const { code, out } = await cli('stats', '--db', `sqlite:${path}`, '--format', 'csv');
    expect(code).toBe(0);
    expect(out.split('\r\n')[1]).toBe(`"'=HYPERLINK(""http://x"")",1,0,1,0,1,1,0.01,0.01,'@SUM(1)`);
  });

  it('tables never pass terminal control sequences from the trail to the terminal', async () => {
    // Tool names and reasons come from the model; chain names and hashes from whoever can write the database.
    // Raw, an escape sequence could retitle the terminal, or erase the FIRST PROBLEM line of verify.
    const path = join(dir, 'escapes.db');
    const trail = createAuditTrail({ sink: sqliteAudit(path), exitHandler: false });
    trail.recordDecision(
      decisionEvent({
        tool: 'x\u001b]0;pwned\u0007',
        reason: 'ok\u001b[2K\u009b1A\u202egnp.exe',
        userId: 'u\r\u001b[1A',
      }),
    );
    await trail.close();
    const raw = sqliteAudit(path);
    raw.database.exec(
      `UPDATE hexgate_audit SET chain = 'c' || char(27) || '[1A', hash = char(27) || '[2K' || char(27) || '[1A' || hash`,
    );
    raw.database.exec(`UPDATE hexgate_audit_chains SET chain = 'c' || char(27) || '[1A'`);
    await raw.close();
    const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    const list = await cli('list', '--db', `sqlite:${path}`);
    expect(list.code).toBe(0);
    expect(list.out).toContain('x');
    expect(list.out).not.toMatch(control);
    const verify = await cli('verify', '--db', `sqlite:${path}`);
    expect(verify.code).toBe(1);
    expect(verify.out).toContain('FIRST PROBLEM');
    expect(verify.out).not.toMatch(control);
  });

  it('reads the database from HEXGATE_AUDIT_DB, and JSONL files', async () => {
    const path = join(dir, 'trail.jsonl');
    await seed(jsonlAudit(path));
    let out = '';
    const code = await runAuditCommand(['verify'], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => {} },
      env: { HEXGATE_AUDIT_DB: `jsonl:${path}` },
    });
    expect(code).toBe(0);
    expect(out).toContain('verified 6 record(s)');
    expect((await cli('verify', '--db', `jsonl:${path}`, '--chain', 'other')).out).toBe('no audit records\n');
    expect((await cli('list', '--db', path, '--user', 'bob', '--format', 'json')).out).toContain('amount too high');
    const cleanup = await cli('cleanup', '--db', `jsonl:${path}`, '--older-than', '1');
    expect(cleanup).toMatchObject({ code: 1, err: expect.stringContaining('not supported for JSONL') });
  });

  it('verify on a JSONL file reports an unloadable record by line instead of failing to open the file', async () => {
    const path = join(dir, 'odd.jsonl');
    await seed(jsonlAudit(path));
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = (lines[2] as string).replace(/"kind":"[a-z]+"/, '"kind":{"x":1}');
    writeFileSync(path, lines.join('\n'));
    const { code, out } = await cli('verify', '--db', `jsonl:${path}`);
    expect(code).toBe(1);
    expect(out).toContain("FIRST PROBLEM: chain 'default', seq 3 (line 3)");
  });

  it('resolves relative paths against the given cwd, and runs pre-parsed options', async () => {
    const { runParsedAuditCommand, AUDIT_OPTIONS } = await import('../index.ts');
    expect(Object.keys(AUDIT_OPTIONS)).toContain('older-than');
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => {} }, env: {}, cwd: dir };
    expect(await runAuditCommand(['verify', '--db', 'sqlite:./cli.db'], io)).toBe(0);
    expect(
      await runParsedAuditCommand(
        { values: { db: 'sqlite:cli.db', format: 'json' }, positionals: ['trail', 'bob'] },
        io,
      ),
    ).toBe(0);
    expect(out).toContain('"userId": "bob"');
  });

  it('usage errors exit 2 with a message', async () => {
    expect(await cli()).toMatchObject({ code: 2, err: expect.stringContaining('Usage: hexgate audit') });
    expect(await cli('list')).toMatchObject({ code: 2, err: expect.stringContaining('no database') });
    expect(await cli('frobnicate', '--db', 'sqlite:x.db')).toMatchObject({
      code: 2,
      err: expect.stringContaining("unknown command 'frobnicate'"),
    });
    expect(await cli('list', '--db', 'sqlite:x.db', '--format', 'xml')).toMatchObject({ code: 2 });
    expect(await cli('list', '--db', 'sqlite:x.db', '--bogus')).toMatchObject({
      code: 2,
      err: expect.stringContaining("Unknown option '--bogus'"),
    });
    expect(await cli('list', '--db', 'mysql://x')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unrecognized audit database'),
    });
    const missing = join(dir, 'missing.db');
    expect(await cli('list', '--db', `sqlite:${missing}`)).toMatchObject({
      code: 1,
      err: expect.stringContaining('no audit database at'),
    });
    expect(existsSync(missing)).toBe(false);
    const path = join(dir, 'cli.db');
    expect(await cli('list', '--db', `sqlite:${path}`, '--outcome', 'maybe')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--outcome must be one of'),
    });
    expect(await cli('list', '--db', `sqlite:${path}`, '--since', 'yesterday')).toMatchObject({
      code: 2,
      err: expect.stringContaining('invalid date'),
    });
    expect(await cli('cleanup', '--db', `sqlite:${path}`)).toMatchObject({
      code: 2,
      err: expect.stringContaining('--older-than'),
    });
    expect(await cli('trail', '--db', `sqlite:${path}`)).toMatchObject({ code: 2 });
    expect(await cli('--help')).toMatchObject({ code: 0, out: expect.stringContaining('Commands:') });
  });
});

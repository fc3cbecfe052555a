import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnforcer, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { decisionEvent } from '../__fixtures__/events.ts';
import { createAuditTrail, jsonlAudit, loadJsonl, verifyJsonl } from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'hexgate-audit-jsonl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function writeTrail(count: number, path = join(dir, `t${++n}.jsonl`)): Promise<string> {
  const trail = createAuditTrail({ sink: jsonlAudit(path), exitHandler: false, batchSize: 4 });
  for (let i = 0; i < count; i++) {
    trail.recordDecision(
      decisionEvent({ tool: i % 2 ? 'refund' : 'search', outcome: i % 3 ? 'allow' : 'deny', args: { i, token: 't' } }),
    );
  }
  await trail.close();
  return path;
}

describe('JSONL trail', () => {
  it('writes one record per line, redacted, and verifies', async () => {
    const path = await writeTrail(10);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(10);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ seq: 1, args: { i: 0, token: '[REDACTED]' } });
    expect(await verifyJsonl(path)).toMatchObject({ ok: true, records: 10, chains: [{ firstSeq: 1, lastSeq: 10 }] });
    expect(await verifyJsonl(path, { chain: 'default' })).toMatchObject({ ok: true, records: 10 });
    expect(await verifyJsonl(path, { chain: 'other' })).toMatchObject({ ok: true, records: 0, chains: [] });
  });

  it('continues the chain in an existing file', async () => {
    const path = await writeTrail(3);
    await writeTrail(2, path);
    expect(await verifyJsonl(path)).toMatchObject({ ok: true, records: 5 });
  });

  it('reports the first altered line', async () => {
    const path = await writeTrail(6);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[3] = (lines[3] as string)
      .replace('"outcome":"allow"', '"outcome":"deny"')
      .replace('"outcome":"deny"', '"outcome":"allow"');
    const edited = JSON.parse(lines[3] as string);
    edited.tool = 'edited';
    lines[3] = JSON.stringify(edited);
    writeFileSync(path, lines.join('\n'));
    expect((await verifyJsonl(path)).problem).toMatchObject({ seq: 4, kind: 'tampered', line: 4 });
  });

  it('reports a removed line and a line that is not JSON', async () => {
    const path = await writeTrail(5);
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, [...lines.slice(0, 2), ...lines.slice(3)].join('\n'));
    expect((await verifyJsonl(path)).problem).toMatchObject({ seq: 3, kind: 'missing', line: 3 });
    const other = await writeTrail(2);
    appendFileSync(other, 'not json\n');
    expect((await verifyJsonl(other)).problem).toMatchObject({ kind: 'malformed', line: 3 });
  });

  it('cuts a torn (never acknowledged) last batch before appending', async () => {
    const path = await writeTrail(3);
    appendFileSync(path, '{"chain":"default","seq":4,"kind":"deci');
    await writeTrail(1, path);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(await verifyJsonl(path)).toMatchObject({ ok: true, records: 4 });
  });

  it('loads into memory for queries', async () => {
    const path = await writeTrail(12);
    const store = await loadJsonl(path);
    expect((await store.list({ tool: 'refund' })).records).toHaveLength(6);
    expect((await store.stats()).map((s) => [s.tool, s.total])).toEqual([
      ['refund', 6],
      ['search', 6],
    ]);
    await store.close();
  });
});

describe('JSONL trail under attack', () => {
  const policy = testPolicy(`
    roles:
      default:
        tools:
          lookup: { mode: allow }
  `);

  it('a U+2028 / U+2029 chosen by the model (tool name, arguments) keeps the file verifiable and queryable', async () => {
    const path = join(dir, `t${++n}.jsonl`);
    const trail = createAuditTrail({ sink: jsonlAudit(path), exitHandler: false });
    const enforcer = createEnforcer({ policy, recorder: trail });
    runWithUser({ id: 'u\u2029' }, () => {
      enforcer.decide({ tool: 'look\u2028up', args: { q: 'a\u2029b' } });
      enforcer.decide({ tool: 'lookup', args: { q: 'x\u2028' } });
    });
    await trail.close();
    // Line-oriented tools (readline, many log shippers) split on these: they never appear raw.
    expect(readFileSync(path, 'utf8')).not.toMatch(/[\u2028\u2029]/);
    expect(await verifyJsonl(path)).toMatchObject({ ok: true, records: 2 });
    const store = await loadJsonl(path);
    const { records } = await store.list({ order: 'asc' });
    expect(records.map((r) => [r.tool, r.userId, r.args])).toEqual([
      ['look\u2028up', 'u\u2029', { q: 'a\u2029b' }],
      ['lookup', 'u\u2029', { q: 'x\u2028' }],
    ]);
    await store.close();
  });

  it('detects edits that leave the parsed values (and so the hash) unchanged: duplicate keys, extra fields, reformatting', async () => {
    const path = await writeTrail(3);
    const original = readFileSync(path, 'utf8');
    const line2 = original.split('\n')[1] as string;
    const edits: [string, string][] = [
      // JSON.parse keeps the last of two keys, jq and many log pipelines the first: two readers, two stories.
      ['duplicate key read first by other parsers', line2.replace('{"chain"', '{"tool":"delete_everything","chain"')],
      ['nested duplicate key', line2.replace('"args":{"i":1', '"args":{"i":999,"i":1')],
      ['extra field', line2.replace('{"chain"', '{"approvedBy":"ciso","chain"')],
      ['missing null field', line2.replace('"approver":null,', '')],
      ['whitespace', line2.replace('"seq":2', '"seq": 2')],
      ['CRLF line end', `${line2}\r`],
    ];
    for (const [what, edited] of edits) {
      expect(edited, what).not.toBe(line2);
      writeFileSync(path, original.replace(line2, edited));
      const report = await verifyJsonl(path);
      expect(report.problem, what).toMatchObject({ seq: 2, kind: 'tampered', line: 2 });
    }
  });

  it('two sinks on one file in one process continue each other instead of forking the chain', async () => {
    const path = join(dir, `t${++n}.jsonl`);
    const a = createAuditTrail({ sink: jsonlAudit(path), exitHandler: false });
    const b = createAuditTrail({ sink: jsonlAudit(path), exitHandler: false });
    for (let i = 0; i < 3; i++) {
      a.recordDecision(decisionEvent({ tool: `a${i}` }));
      await a.flush();
      b.recordDecision(decisionEvent({ tool: `b${i}` }));
      await b.flush();
    }
    await Promise.all([a.close(), b.close()]);
    expect(await verifyJsonl(path)).toMatchObject({ ok: true, records: 6, chains: [{ firstSeq: 1, lastSeq: 6 }] });
  });

  it('records cut off while the writer runs stay visible as a gap (the writer does not heal them)', async () => {
    const path = join(dir, `t${++n}.jsonl`);
    const trail = createAuditTrail({ sink: jsonlAudit(path), exitHandler: false });
    for (let i = 0; i < 4; i++) trail.recordDecision(decisionEvent({ tool: `t${i}` }));
    await trail.flush();
    const lines = readFileSync(path, 'utf8').split('\n');
    writeFileSync(path, `${lines.slice(0, 2).join('\n')}\n`);
    trail.recordDecision(decisionEvent({ tool: 'after' }));
    await trail.close();
    expect((await verifyJsonl(path)).problem).toMatchObject({ seq: 3, kind: 'missing' });
  });
});

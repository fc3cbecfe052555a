import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

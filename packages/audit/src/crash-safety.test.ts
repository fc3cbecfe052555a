/**
 * Crash safety with real processes: a writer streaming decisions is killed
 * with SIGKILL mid-stream; every batch it acknowledged as durable must be
 * there and the chain must still verify. Also: the exit hooks flush.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decisionEvent } from './__fixtures__/events.ts';
import { createTestDatabase } from './__fixtures__/pg-database.ts';
import {
  type AuditSink,
  type AuditStore,
  createAuditTrail,
  jsonlAudit,
  loadJsonl,
  postgresAudit,
  sqliteAudit,
  verifyJsonl,
} from './index.ts';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const writer = fileURLToPath(new URL('./__fixtures__/writer-process.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hexgate-audit-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function startWriter(kind: string, target: string, mode: string): ChildProcess {
  return spawn(process.execPath, ['--conditions=@hexgate/source', '--import', 'tsx', writer, kind, target, mode], {
    cwd: packageDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs the streaming writer until it has acknowledged `atLeast` records, then SIGKILLs it. */
async function killMidStream(kind: string, target: string, atLeast: number): Promise<number> {
  const child = startWriter(kind, target, 'stream');
  let durable = 0;
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^durable (\d+)$/.exec(line);
        if (m) durable = Math.max(durable, Number(m[1]));
      }
      if (durable >= atLeast && child.exitCode === null && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`writer exited before it was killed: ${stderr}`)));
  });
  expect(await exited).toBe('SIGKILL');
  return durable;
}

async function expectIntactAfterCrash(store: AuditStore & AuditSink, durable: number): Promise<void> {
  const report = await store.verify();
  expect(report.problem).toBeUndefined();
  expect(report.ok).toBe(true);
  // Gap-free from seq 1 and at least up to the last acknowledged record.
  expect(report.chains[0]?.firstSeq).toBe(1);
  expect(report.chains[0]?.lastSeq).toBeGreaterThanOrEqual(durable);
  const acknowledged = await store.list({ order: 'asc', limit: 10_000 });
  expect(acknowledged.records[durable - 1]?.seq).toBe(durable);

  // A new writer continues the same chain after the crash.
  const trail = createAuditTrail({ sink: store, exitHandler: false, closeSink: false });
  trail.recordDecision(decisionEvent({ tool: 'after-crash' }));
  await trail.close();
  const after = await store.verify();
  expect(after.ok).toBe(true);
  expect(after.chains[0]?.lastSeq).toBe((report.chains[0]?.lastSeq ?? 0) + 1);
}

describe('crash safety: SIGKILL in the middle of a stream of decisions', () => {
  it('SQLite keeps every acknowledged record and a verifiable chain', { timeout: 60_000 }, async () => {
    const path = join(dir, 'crash.db');
    const durable = await killMidStream('sqlite', path, 3_000);
    const store = sqliteAudit(path);
    try {
      await expectIntactAfterCrash(store, durable);
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL keeps every acknowledged record and a verifiable chain', { timeout: 60_000 }, async () => {
    const url = await createTestDatabase('crash');
    const durable = await killMidStream('postgres', url, 3_000);
    const store = postgresAudit(url);
    try {
      await expectIntactAfterCrash(store, durable);
    } finally {
      await store.close();
    }
  });

  it('JSONL drops a torn last batch and keeps every acknowledged record', { timeout: 60_000 }, async () => {
    const path = join(dir, 'crash.jsonl');
    const durable = await killMidStream('jsonl', path, 3_000);
    const sink = jsonlAudit(path);
    const head = sink.head('default');
    expect(head.seq).toBeGreaterThanOrEqual(durable);
    sink.close();
    const report = await verifyJsonl(path);
    expect(report).toMatchObject({ ok: true });
    expect(report.chains[0]?.lastSeq).toBe(head.seq);
  });
});

describe('exit hooks', () => {
  async function run(kind: string, target: string, mode: string): Promise<{ code: number | null; stderr: string }> {
    const child = startWriter(kind, target, mode);
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { code, stderr };
  }

  it('flushes synchronously to SQLite when the process calls process.exit()', { timeout: 30_000 }, async () => {
    const path = join(dir, 'exit.db');
    expect((await run('sqlite', path, 'exit')).code).toBe(0);
    const store = sqliteAudit(path);
    expect(await store.verify()).toMatchObject({ ok: true, records: 500 });
    await store.close();
  });

  it('flushes to PostgreSQL when the event loop runs dry (beforeExit)', { timeout: 30_000 }, async () => {
    const url = await createTestDatabase('exit');
    expect((await run('postgres', url, 'natural')).code).toBe(0);
    const store = postgresAudit(url);
    expect(await store.verify()).toMatchObject({ ok: true, records: 500 });
    await store.close();
  });

  it('says on stderr what an asynchronous sink could not write at process.exit()', { timeout: 30_000 }, async () => {
    const url = await createTestDatabase('exitlost');
    const { code, stderr } = await run('postgres', url, 'exit');
    expect(code).toBe(0);
    expect(stderr).toMatch(/500 audit record\(s\) for postgres:.* were not written before exit/);
  });

  it('flushes a JSONL trail at process.exit() and the file verifies', { timeout: 30_000 }, async () => {
    const path = join(dir, 'exit.jsonl');
    expect((await run('jsonl', path, 'exit')).code).toBe(0);
    expect(await verifyJsonl(path)).toMatchObject({ ok: true, records: 500 });
    const store = await loadJsonl(path);
    expect((await store.list({ limit: 1 })).records[0]?.seq).toBe(500);
    await store.close();
  });
});

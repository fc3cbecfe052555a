/**
 * Audit benchmark: `pnpm -F @hexgate/audit bench`.
 *
 * 1. Added latency on the decision path: `enforcer.decide()` median with and
 *    without the audit recorder (target < 1 µs added: the recorder only
 *    enqueues), and `recordDecision()` alone.
 * 2. Sustained throughput: decisions made and recorded per second into
 *    SQLite (target >= 50,000/s) and PostgreSQL (a throwaway local server),
 *    end to end (decide + record) and recording alone (pre-made events).
 *
 * Numbers only; tests never assert timings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnforcer, type DecisionEvent, type Enforcer, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { startPostgres, stopPostgres } from '../src/__fixtures__/postgres-server.ts';
import { type AuditSink, type AuditTrail, createAuditTrail, postgresAudit, sqliteAudit } from '../src/index.ts';

const policy = testPolicy(`
  roles:
    default:
      tools:
        search: { mode: allow }
    billing:
      tools:
        refund:
          mode: allow
          constraints:
            - args.amount <= 500
            - args.currency in ["USD", "EUR"]
`);
const user = { id: 'alice', roles: ['billing'], sessionId: 'sess-1', attributes: { region: 'EU', apiKey: 'sk-123' } };
const args = { amount: 120, currency: 'EUR', order_id: 'ORD-1234', note: 'customer asked twice' };

const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Median time per call of `fn`, sampled in batches of `batch` calls (ns). */
async function perCall(fn: () => void, samples: number, batch: number, between?: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / batch);
    if (between && s % 10 === 9) await between();
  }
  return median(times);
}

async function latency(dir: string): Promise<void> {
  const store = sqliteAudit({ path: join(dir, 'latency.db') });
  const trail = createAuditTrail({ sink: store, exitHandler: false });
  const plain = createEnforcer({ policy });
  const audited = createEnforcer({ policy, recorder: trail });
  const call = { tool: 'refund', args, user };
  // Let the writer drain between samples so the queue never fills (a full
  // queue would refuse, which is not the path being measured).
  const drain = async () => {
    await yieldTurn();
    if (trail.stats().queued > 20_000) await trail.flush();
  };
  for (let warm = 0; warm < 3; warm++) {
    await perCall(() => plain.decide(call), 200, 100);
    await perCall(() => audited.decide(call), 200, 100, drain);
  }
  const rounds = 5;
  const without: number[] = [];
  const withAudit: number[] = [];
  for (let r = 0; r < rounds; r++) {
    without.push(await perCall(() => plain.decide(call), 400, 100));
    withAudit.push(await perCall(() => audited.decide(call), 400, 100, drain));
  }
  await trail.flush();
  const event = audited.decide(call);
  const eventForRecorder: DecisionEvent = { decision: event.decision, args: event.args, user };
  const recordOnly = await perCall(() => trail.recordDecision(eventForRecorder), 400, 100, drain);
  await trail.close();
  const a = median(without);
  const b = median(withAudit);
  console.log('decision path latency (median per call)');
  console.log(`  decide() without audit:   ${a.toFixed(0)} ns`);
  console.log(`  decide() with audit:      ${b.toFixed(0)} ns`);
  console.log(`  added by auditing:        ${(b - a).toFixed(0)} ns   (target < 1,000 ns)`);
  console.log(`  recordDecision() alone:   ${recordOnly.toFixed(0)} ns`);
}

/** Decides `total` calls as fast as the writer keeps up; returns decisions recorded per second. */
async function endToEnd(enforcer: Enforcer, trail: AuditTrail, total: number): Promise<number> {
  const t0 = performance.now();
  let done = 0;
  await runWithUser(user, async () => {
    while (done < total) {
      for (let i = 0; i < 2_000 && done < total; i++, done++) {
        enforcer.decide({ tool: 'refund', args: { ...args, amount: done % 600 } });
      }
      await yieldTurn();
      if (trail.stats().queued > 50_000) await trail.flush();
    }
  });
  await trail.flush();
  const seconds = (performance.now() - t0) / 1000;
  const s = trail.stats();
  if (s.refused || s.dropped || s.written < total) throw new Error(`lost records: ${JSON.stringify(s)}`);
  return total / seconds;
}

/** Records pre-made events only (no policy evaluation): the writer's own throughput. */
async function recordOnly(trail: AuditTrail, events: DecisionEvent[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += 2_000) {
    for (let k = i; k < Math.min(i + 2_000, events.length); k++) trail.recordDecision(events[k] as DecisionEvent);
    await yieldTurn();
    if (trail.stats().queued > 50_000) await trail.flush();
  }
  await trail.flush();
  return events.length / ((performance.now() - t0) / 1000);
}

async function throughput(label: string, open: () => AuditSink, total: number): Promise<void> {
  const enforcer = (trail: AuditTrail) => createEnforcer({ policy, recorder: trail, agentName: 'bench' });
  // Warm-up run on its own chain.
  {
    const trail = createAuditTrail({ sink: open(), exitHandler: false, chain: 'warmup' });
    await endToEnd(enforcer(trail), trail, 20_000);
    await trail.close();
  }
  const trail = createAuditTrail({ sink: open(), exitHandler: false, chain: 'bench' });
  const e2e = await endToEnd(enforcer(trail), trail, total);
  const plain = createEnforcer({ policy });
  const events = runWithUser(user, () =>
    Array.from({ length: total }, (_, i) => {
      const r = plain.decide({ tool: 'refund', args: { ...args, amount: i % 600 } });
      return { decision: r.decision, args: r.args, user };
    }),
  );
  const trail2 = createAuditTrail({ sink: open(), exitHandler: false, chain: 'bench-record' });
  const rec = await recordOnly(trail2, events);
  await trail2.close();
  const store = open() as AuditSink & { verify(): Promise<{ ok: boolean; records: number }>; close(): Promise<void> };
  const report = await store.verify();
  await trail.close();
  await store.close();
  console.log(`${label}: ${fmt(total)} decisions`);
  console.log(`  decide + record:   ${fmt(e2e)} decisions/s`);
  console.log(`  record only:       ${fmt(rec)} records/s`);
  console.log(`  chains verify:     ${report.ok ? 'ok' : 'BROKEN'} (${fmt(report.records)} records)`);
}

async function main(): Promise<void> {
  // `bench latency|sqlite|postgres` runs only those parts.
  const only = process.argv.slice(2);
  const run = (part: string) => only.length === 0 || only.includes(part);
  const dir = mkdtempSync(join(tmpdir(), 'hexgate-audit-bench-'));
  console.log(
    `@hexgate/audit bench — node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(2)}\n`,
  );
  try {
    if (run('latency')) await latency(dir);
    console.log('');
    if (run('sqlite'))
      await throughput(
        'SQLite (WAL, synchronous=FULL, batches of 2,000 in one transaction)',
        () => sqliteAudit(join(dir, 'bench.db')),
        200_000,
      );
    console.log('');
    if (!run('postgres')) return;
    const pg = await startPostgres();
    try {
      await throughput(
        'PostgreSQL (throwaway local server, one json_to_recordset INSERT per batch)',
        () => postgresAudit(pg.url),
        100_000,
      );
    } finally {
      stopPostgres(pg);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

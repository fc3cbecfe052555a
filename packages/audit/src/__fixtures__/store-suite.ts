/**
 * The behaviour every SQL store must have, run against SQLite and
 * PostgreSQL alike (sqlite-audit.test.ts, postgres-audit.test.ts).
 */
import { createEnforcer, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AuditRecord,
  type AuditSink,
  type AuditStore,
  type AuditTrail,
  createAuditTrail,
  hashRecord,
} from '../index.ts';
import { canonicalRecordJson } from '../record.ts';
import { ago, approvalEvent, type DecisionInput, decisionEvent } from './events.ts';

export interface TestStore {
  readonly store: AuditStore & AuditSink;
  /** Runs raw SQL against the same database (to tamper with it). */
  exec(sql: string): Promise<void>;
  /** A second, independent connection to the same database. */
  reopen(): Promise<AuditStore & AuditSink>;
}

export function describeStore(name: string, open: () => Promise<TestStore>): void {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  async function fresh(): Promise<TestStore> {
    const t = await open();
    cleanups.push(() => t.store.close());
    return t;
  }

  function trailFor(sink: AuditSink, options: { batchSize?: number } = {}): AuditTrail {
    const trail = createAuditTrail({ sink, exitHandler: false, closeSink: false, retryDelayMs: 5, ...options });
    cleanups.push(() => trail.close());
    return trail;
  }

  async function write(sink: AuditSink, inputs: (DecisionInput | AuditRecordApproval)[]): Promise<void> {
    const trail = trailFor(sink);
    const events = new Map<string, ReturnType<typeof decisionEvent>>();
    for (const input of inputs) {
      if ('approvalOf' in input) {
        const d = events.get(input.approvalOf);
        if (!d) throw new Error(`no decision ${input.approvalOf}`);
        trail.recordApproval(approvalEvent(d, input.status, { approver: input.approver, timestamp: input.timestamp }));
      } else {
        const e = decisionEvent(input);
        if (input.id) events.set(input.id, e);
        trail.recordDecision(e);
      }
    }
    await trail.flush();
  }

  interface AuditRecordApproval {
    approvalOf: string;
    status: 'approved' | 'rejected' | 'requested' | 'expired';
    approver?: string;
    timestamp: string;
  }

  const now = new Date();
  const dataset = (): (DecisionInput | AuditRecordApproval)[] => [
    {
      tool: 'search',
      userId: 'alice',
      roles: ['support'],
      decidingRole: 'support',
      timestamp: ago(now, 0, 1),
      evaluationMs: 0.01,
      policyDigest: 'd1',
    },
    {
      tool: 'refund',
      userId: 'alice',
      roles: ['billing'],
      decidingRole: 'billing',
      outcome: 'deny',
      effective: 'deny',
      reason: 'amount too high',
      violations: ['args.amount <= 500'],
      timestamp: ago(now, 0, 1),
      evaluationMs: 0.02,
      policyDigest: 'd1',
    },
    {
      tool: 'refund',
      userId: 'bob',
      roles: ['billing'],
      decidingRole: 'billing',
      outcome: 'deny',
      effective: 'deny',
      reason: 'amount too high',
      timestamp: ago(now, 3),
      evaluationMs: 0.03,
      policyDigest: 'd1',
    },
    {
      tool: 'refund',
      userId: 'bob',
      roles: ['billing'],
      decidingRole: 'billing',
      outcome: 'deny',
      effective: 'deny',
      reason: 'currency',
      timestamp: ago(now, 10),
      evaluationMs: 0.04,
      policyDigest: 'd2',
    },
    {
      id: 'wire',
      tool: 'wire',
      userId: 'carol',
      roles: ['admin', 'billing'],
      decidingRole: 'admin',
      outcome: 'approval_required',
      effective: 'approval_required',
      timestamp: ago(now, 10),
      evaluationMs: 0.05,
      policyDigest: 'd2',
    },
    {
      tool: 'search',
      userId: 'dave',
      roles: [],
      decidingRole: 'default',
      outcome: 'deny',
      effective: 'allow',
      mode: 'shadow',
      timestamp: ago(now, 40),
      evaluationMs: 0.06,
      policyDigest: 'd2',
    },
    { approvalOf: 'wire', status: 'approved', approver: 'erin', timestamp: ago(now, 10) },
    {
      tool: 'refund',
      userId: 'carol',
      roles: ['billing'],
      decidingRole: 'billing',
      timestamp: ago(now, 3),
      evaluationMs: 1.5,
      policyDigest: 'd1',
      reason: '=HYPERLINK("http://x")',
    },
  ];

  /** Oldest first, as a real trail is written. */
  const chronological = (): DecisionInput[] =>
    [40, 35, 10, 3, 0].map((days, i) => ({ tool: 'search', userId: `u${i}`, timestamp: ago(now, days, 1) }));

  describe(`${name}: recording`, () => {
    it('stores a real enforcer’s decisions and gives back exactly what was hashed', async () => {
      const { store } = await fresh();
      const trail = trailFor(store);
      const policy = testPolicy(`
        roles:
          default:
            tools:
              lookup: { mode: allow }
              pay:
                mode: allow
                constraints:
                  - args.amount < 10
      `);
      const enforcer = createEnforcer({ policy, recorder: trail, agentName: 'agent-x' });
      runWithUser({ id: 'u1', sessionId: 's', attributes: { token: 't0k', team: 'a' } }, () => {
        enforcer.decide({ tool: 'lookup', args: { id: 1, password: 'p' } });
        enforcer.decide({ tool: 'pay', args: '{"amount": 50}' });
        enforcer.decide({ tool: 'pay', args: '{"amount": 1, "amount": 2}' });
      });
      await trail.flush();
      const { records } = await store.list({ order: 'asc' });
      expect(records.map((r) => [r.seq, r.tool, r.outcome])).toEqual([
        [1, 'lookup', 'allow'],
        [2, 'pay', 'deny'],
        [3, 'pay', 'deny'],
      ]);
      expect(records[0]).toMatchObject({
        agent: 'agent-x',
        userId: 'u1',
        args: { id: 1, password: '[REDACTED]' },
        userAttributes: { token: '[REDACTED]', team: 'a' },
        policyDigest: policy.digest,
      });
      expect(records[2]?.args).toBeNull(); // rejected arguments: no snapshot
      for (const r of records) expect(hashRecord(r)).toBe(r.hash);
      expect(await store.verify()).toMatchObject({ ok: true, records: 3 });
    });

    it('round-trips awkward values exactly (NUL, lone surrogates, unicode, odd numbers)', async () => {
      const { store } = await fresh();
      await write(store, [
        {
          tool: 'we\u0000ird\uD800"tool\\',
          userId: 'ü😀\u0001',
          roles: ['a\u0000b', "o'brien"],
          reason: 'line\nbreak\ttab',
          violations: ['args.x == "\\u0000"'],
          args: {
            nul: 'a\u0000b',
            lone: '\uDC00x',
            nums: [0.1 + 0.2, 1e21, -0, 123456789012345680000, 5e-324, -1.5],
            nested: { 'key with "quotes"': [null, true, false, {}] },
            __proto__x: 1,
          },
          user: { id: 'ü', attributes: { emoji: '😀', cr: '\r' } },
          evaluationMs: 0.000123456789,
          timestamp: '2025-03-04T05:06:07.089Z',
        },
      ]);
      const [r] = (await store.list()).records;
      expect(r?.tool).toBe('we\uFFFDird\uFFFD"tool\\');
      expect(r?.roles).toEqual(['a\uFFFDb', "o'brien"]);
      expect((r?.args as { nul: string } | undefined)?.nul).toBe('a\u0000b');
      expect(r?.timestamp).toBe('2025-03-04T05:06:07.089Z');
      expect(hashRecord(r as AuditRecord)).toBe(r?.hash);
      expect((await store.verify()).ok).toBe(true);
    });

    it('continues the stored chain after reopening', async () => {
      const t = await fresh();
      await write(t.store, [{ tool: 'a' }, { tool: 'b' }]);
      const again = await t.reopen();
      cleanups.push(() => again.close());
      await write(again, [{ tool: 'c' }]);
      const { records } = await t.store.list({ order: 'asc' });
      expect(records.map((r) => [r.seq, r.tool])).toEqual([
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
      ]);
      expect(records[2]?.prevHash).toBe(records[1]?.hash);
      expect((await t.store.verify()).ok).toBe(true);
    });

    it('never forks a chain shared by two writers on separate connections', async () => {
      const t = await fresh();
      const other = await t.reopen();
      cleanups.push(() => other.close());
      const a = trailFor(t.store, { batchSize: 7 });
      const b = trailFor(other, { batchSize: 5 });
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 20; i++) {
          a.recordDecision(decisionEvent({ tool: 'from-a' }));
          b.recordDecision(decisionEvent({ tool: 'from-b' }));
        }
        await Promise.all([a.flush(), b.flush()]);
      }
      const report = await t.store.verify();
      expect(report).toMatchObject({ ok: true, records: 240 });
      expect(report.chains).toHaveLength(1);
      expect(report.chains[0]).toMatchObject({ firstSeq: 1, lastSeq: 240 });
    });
  });

  describe(`${name}: queries`, () => {
    it('filters history by tool, user, outcome, role, policy digest, kind and time range', async () => {
      const { store } = await fresh();
      await write(store, dataset());
      const count = async (q: Parameters<AuditStore['list']>[0]) => (await store.list(q)).records.length;
      expect(await count({})).toBe(8);
      expect(await count({ tool: 'refund' })).toBe(4);
      expect(await count({ userId: 'bob' })).toBe(2);
      expect(await count({ outcome: 'deny' })).toBe(4);
      expect(await count({ effective: 'deny' })).toBe(3);
      expect(await count({ role: 'admin' })).toBe(2);
      expect(await count({ role: 'billing' })).toBe(6);
      expect(await count({ role: 'default' })).toBe(1);
      expect(await count({ policyDigest: 'd2' })).toBe(4);
      expect(await count({ kind: 'approval' })).toBe(1);
      expect(await count({ since: new Date(ago(now, 5)) })).toBe(4);
      expect(await count({ until: ago(now, 5) })).toBe(4);
      expect(await count({ since: ago(now, 12), until: ago(now, 5), tool: 'refund' })).toBe(1);
      expect(await count({ tool: 'refund', userId: 'bob', outcome: 'deny', policyDigest: 'd1' })).toBe(1);
      expect(await count({ tool: 'nope' })).toBe(0);
    });

    it('paginates with a cursor, newest first or in written order', async () => {
      const { store } = await fresh();
      await write(store, dataset());
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.records.map((r) => r.seq));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
      const asc = await store.list({ limit: 5, order: 'asc' });
      expect(asc.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
      const rest = await store.list({ limit: 5, order: 'asc', cursor: asc.nextCursor as string });
      expect(rest.records.map((r) => r.seq)).toEqual([6, 7, 8]);
      expect(rest.nextCursor).toBeUndefined();
      await expect(store.list({ cursor: 'garbage' })).rejects.toThrow(/invalid cursor/);
    });

    it('lists blocked calls in the last 24h, 7d and 30d', async () => {
      const { store } = await fresh();
      await write(store, dataset());
      const blocked = async (last: string) => (await store.blocked({ last, now })).records.map((r) => r.userId);
      expect(await blocked('24h')).toEqual(['alice']);
      expect(await blocked('7d')).toEqual(['bob', 'alice']);
      expect(await blocked('30d')).toEqual(['bob', 'bob', 'alice']);
      expect((await store.blocked({ last: '30d', now, userId: 'bob' })).records).toHaveLength(2);
      await expect(store.blocked({ last: 'soon' })).rejects.toThrow(/invalid time window/);
    });

    it('computes per-tool statistics', async () => {
      const { store } = await fresh();
      await write(store, dataset());
      const stats = await store.stats();
      expect(stats.map((s) => s.tool)).toEqual(['refund', 'search', 'wire']);
      expect(stats[0]).toEqual({
        tool: 'refund',
        total: 4,
        allow: 1,
        deny: 3,
        approvalRequired: 0,
        blocked: 3,
        blockRate: 0.75,
        topDenyReasons: [
          { reason: 'amount too high', count: 2 },
          { reason: 'currency', count: 1 },
        ],
        p50Ms: 0.03,
        p99Ms: 1.5,
        approvals: { requested: 0, approved: 0, rejected: 0, expired: 0 },
      });
      expect(stats[1]).toMatchObject({
        tool: 'search',
        total: 2,
        allow: 1,
        deny: 1,
        blocked: 0,
        blockRate: 0,
        p50Ms: 0.01,
        p99Ms: 0.06,
      });
      expect(stats[2]).toMatchObject({ tool: 'wire', total: 1, approvalRequired: 1, approvals: { approved: 1 } });
      const recent = await store.stats({ since: ago(now, 5) });
      expect(recent.find((s) => s.tool === 'refund')).toMatchObject({ total: 3, deny: 2, p50Ms: 0.03, p99Ms: 1.5 });
    });

    it('gives one user’s trail in order, approvals included', async () => {
      const { store } = await fresh();
      await write(store, dataset());
      const { records } = await store.trail('carol');
      expect(records.map((r) => [r.seq, r.kind, r.tool])).toEqual([
        [5, 'decision', 'wire'],
        [7, 'approval', 'wire'],
        [8, 'decision', 'refund'],
      ]);
      expect(records[1]).toMatchObject({ approvalStatus: 'approved', approver: 'erin' });
    });

    it('exports to JSON (verifiable) and CSV (formula-safe)', async () => {
      const { store } = await fresh();
      await write(store, dataset());
      const collect = () => {
        const chunks: string[] = [];
        return { write: (c: string) => void chunks.push(c), text: () => chunks.join('') };
      };
      const json = collect();
      expect(await store.export({}, 'json', json.write)).toBe(8);
      const records = JSON.parse(json.text()) as AuditRecord[];
      expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      for (const r of records) expect(canonicalRecordJson(r) && hashRecord(r)).toBe(r.hash);

      const csvOut = collect();
      expect(await store.export({ tool: 'refund' }, 'csv', csvOut.write)).toBe(4);
      const csv = csvOut.text();
      const lines = csv.trimEnd().split('\r\n');
      expect(lines).toHaveLength(5);
      expect(lines[0]?.startsWith('chain,seq,kind,timestamp,decisionId')).toBe(true);
      expect(csv).toContain(`"'=HYPERLINK(""http://x"")"`);
      expect(csv).not.toMatch(/,=HYPERLINK/);

      const empty = collect();
      await store.export({ tool: 'none' }, 'json', empty.write);
      expect(JSON.parse(empty.text())).toEqual([]);
    });
  });

  describe(`${name}: retention and verification`, () => {
    it('cleans up old records (dry run first) and keeps the chain verifiable through an anchor', async () => {
      const { store } = await fresh();
      await write(store, chronological());
      const dry = await store.cleanup({ olderThanDays: 30, now });
      expect(dry).toMatchObject({ dryRun: true, deleted: 2, chains: [{ chain: 'default', count: 2, throughSeq: 2 }] });
      expect((await store.list()).records).toHaveLength(5);

      const real = await store.cleanup({ olderThanDays: 30, dryRun: false, now });
      expect(real).toMatchObject({ dryRun: false, deleted: 2 });
      expect((await store.list({ order: 'asc' })).records.map((r) => r.seq)).toEqual([3, 4, 5]);
      const report = await store.verify();
      expect(report).toMatchObject({ ok: true, records: 3 });
      expect(report.chains[0]).toMatchObject({ anchorSeq: 2, firstSeq: 3, lastSeq: 5 });

      // The chain goes on after the cleanup, and a second cleanup moves the anchor.
      await write(store, [{ tool: 'later' }]);
      expect(await store.cleanup({ olderThanDays: 7, dryRun: false, now })).toMatchObject({ deleted: 1 });
      expect(await store.verify()).toMatchObject({ ok: true, records: 3, chains: [{ anchorSeq: 3, lastSeq: 6 }] });
      expect(await store.cleanup({ olderThanDays: 1000, dryRun: false, now })).toMatchObject({
        deleted: 0,
        chains: [],
      });
      await expect(store.cleanup({ olderThanDays: 0 })).rejects.toThrow(/olderThanDays/);
    });

    it('detects a record edited in place', async () => {
      const t = await fresh();
      await write(t.store, chronological());
      await t.exec("UPDATE hexgate_audit SET reason = 'nothing to see' WHERE seq = 3");
      const report = await t.store.verify();
      expect(report.ok).toBe(false);
      expect(report.problem).toMatchObject({ chain: 'default', seq: 3, kind: 'tampered' });
    });

    it('detects a deleted record', async () => {
      const t = await fresh();
      await write(t.store, chronological());
      await t.exec('DELETE FROM hexgate_audit WHERE seq = 2');
      expect((await t.store.verify()).problem).toMatchObject({ seq: 2, kind: 'missing' });
    });

    it('detects records cut off at the end', async () => {
      const t = await fresh();
      await write(t.store, chronological());
      await t.exec('DELETE FROM hexgate_audit WHERE seq >= 4');
      expect((await t.store.verify()).problem).toMatchObject({ seq: 4, kind: 'truncated' });
    });

    it('detects a record replaced by a re-hashed forgery', async () => {
      const t = await fresh();
      await write(t.store, chronological());
      const [orig] = (await t.store.list({ since: ago(now, 11), until: ago(now, 9) })).records;
      expect(orig?.seq).toBe(3);
      const forged = { ...(orig as AuditRecord), userId: 'someone-else' };
      const hash = hashRecord(forged);
      await t.exec(`UPDATE hexgate_audit SET user_id = 'someone-else', hash = '${hash}' WHERE seq = 3`);
      expect((await t.store.verify()).problem).toMatchObject({ seq: 4, kind: 'relinked' });
    });

    it('detects edits to JSON columns that keep the parsed values: duplicate keys, extra whitespace', async () => {
      for (const [what, sql] of [
        // SQLite's json_extract reads the first of two keys, JSON.parse the last: the hash alone misses it.
        ['duplicate key', `UPDATE hexgate_audit SET args = '{"amount":99999,"amount":5}' WHERE seq = 2`],
        ['reformatted', `UPDATE hexgate_audit SET user_attributes = '{ "region": "EU" }' WHERE seq = 2`],
        ['null as JSON text', `UPDATE hexgate_audit SET lost = 'null' WHERE seq = 2`],
      ] as const) {
        const t = await fresh();
        await write(t.store, [{ tool: 'a' }, { tool: 'refund', args: { amount: 5 } }, { tool: 'c' }]);
        expect((await t.store.verify()).ok).toBe(true);
        await t.exec(sql);
        expect((await t.store.verify()).problem, what).toMatchObject({ seq: 2, kind: 'tampered' });
      }
    });

    it('detects two rows swapped in the table (queries list rows in table order)', async () => {
      const t = await fresh();
      await write(t.store, chronological());
      // Every column but the row id swapped between seq 2 and 3: each record is intact, their order is not.
      // (A fresh table numbers its rows 1..5 like the records: the order check below fails otherwise.)
      await t.exec('UPDATE hexgate_audit SET id = -id WHERE seq IN (2, 3)');
      await t.exec('UPDATE hexgate_audit SET id = 3 WHERE seq = 2');
      await t.exec('UPDATE hexgate_audit SET id = 2 WHERE seq = 3');
      const order = (await t.store.list({ order: 'asc' })).records.map((r) => r.seq);
      expect(order).toEqual([1, 3, 2, 4, 5]);
      expect((await t.store.verify()).problem).toMatchObject({ seq: 3, kind: 'out-of-order' });
    });

    it('does not accept records cut off at the end when the chain head row was deleted too', async () => {
      const t = await fresh();
      await write(t.store, chronological());
      await t.exec('DELETE FROM hexgate_audit WHERE seq >= 4');
      await t.exec('DELETE FROM hexgate_audit_chains');
      const report = await t.store.verify();
      expect(report.ok).toBe(false);
      expect(report.problem).toMatchObject({ chain: 'default', seq: 4, kind: 'truncated' });
    });

    it('detects a forged retention anchor', async () => {
      const t = await fresh();
      await write(t.store, chronological());
      await t.store.cleanup({ olderThanDays: 30, dryRun: false, now });
      await t.exec(`UPDATE hexgate_audit_chains SET anchor_hash = '${'a'.repeat(64)}'`);
      expect((await t.store.verify()).problem).toMatchObject({ seq: 3, kind: 'relinked' });
    });
  });
}

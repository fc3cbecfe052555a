import { createEnforcer, type Enforcer, HexgateError, hashArgs, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { decisionEvent } from './__fixtures__/events.ts';
import { latch, MemorySink } from './__fixtures__/memory-sink.ts';
import { AUDIT_UNAVAILABLE, type AuditTrail, type AuditTrailOptions, createAuditTrail, hashRecord } from './index.ts';
import { ChainVerifier } from './verify.ts';

const policy = testPolicy(`
  roles:
    default:
      tools:
        search: { mode: allow }
    billing:
      tools:
        search: { mode: allow }
        refund:
          mode: allow
          constraints:
            - args.amount <= 500
        wire: { mode: approval_required }
`);

const open: AuditTrail[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close().catch(() => {});
});

function setup(options: Partial<AuditTrailOptions> = {}, mode: 'enforce' | 'shadow' = 'enforce') {
  const sink = new MemorySink();
  const trail = createAuditTrail({ sink, exitHandler: false, retryDelayMs: 5, ...options });
  open.push(trail);
  const enforcer = createEnforcer({ policy, recorder: trail, agentName: 'billing-bot', mode });
  return { sink, trail, enforcer };
}

function verifyMemory(sink: MemorySink) {
  const v = new ChainVerifier('default');
  for (const r of sink.records) v.push(r);
  return v.finish();
}

const billingUser = {
  id: 'alice',
  roles: ['billing'],
  sessionId: 'sess-9',
  attributes: { region: 'EU', apiKey: 'sk-live-123', nested: { password: 'pw' } },
};

function decideAs(enforcer: Enforcer, tool: string, args: unknown) {
  return runWithUser(billingUser, () => enforcer.decide({ tool, args }));
}

describe('recording decisions and approvals', () => {
  it('records every decision with its fields, redacted, in a gap-free chain', async () => {
    const { sink, trail, enforcer } = setup();
    const ok = decideAs(enforcer, 'refund', { amount: 100, currency: 'EUR', card_token: 'tok_123' });
    const denied = decideAs(enforcer, 'refund', { amount: 900, note: 'x'.repeat(3000) });
    expect(ok.decision.effective).toBe('allow');
    expect(denied.decision.effective).toBe('deny');
    await trail.flush();

    expect(sink.records.map((r) => r.seq)).toEqual([1, 2]);
    const [first, second] = sink.records;
    expect(first).toMatchObject({
      chain: 'default',
      kind: 'decision',
      decisionId: ok.decision.id,
      timestamp: ok.decision.timestamp,
      agent: 'billing-bot',
      tool: 'refund',
      userId: 'alice',
      sessionId: 'sess-9',
      roles: ['billing'],
      decidingRole: 'billing',
      outcome: 'allow',
      effective: 'allow',
      mode: 'enforce',
      violations: [],
      args: { amount: 100, currency: 'EUR', card_token: '[REDACTED]' },
      userAttributes: { region: 'EU', apiKey: '[REDACTED]', nested: { password: '[REDACTED]' } },
      policyDigest: policy.digest,
      approvalStatus: null,
    });
    expect(first?.evaluationMs).toBeGreaterThan(0);
    expect(second).toMatchObject({ outcome: 'deny', violations: ['args.amount <= 500'] });
    expect((second?.args as { note: string } | undefined)?.note).toContain('[truncated, 3000 chars]');
    expect(second?.prevHash).toBe(first?.hash);
    expect(JSON.stringify(sink.records)).not.toMatch(/tok_123|sk-live|"pw"/);
    expect(verifyMemory(sink).ok).toBe(true);
  });

  it('records approval events: requested, approved by whom, rejected, expired, with the args hash', async () => {
    const { sink, trail, enforcer } = setup();
    const r = decideAs(enforcer, 'wire', { amount: 5000, iban: 'DE89' });
    expect(r.decision.effective).toBe('approval_required');
    enforcer.reportApproval({ status: 'requested', decision: r.decision, args: r.args });
    enforcer.reportApproval({ status: 'approved', decision: r.decision, args: r.args, approver: 'bob', reason: 'ok' });
    enforcer.reportApproval({ status: 'rejected', decision: r.decision, args: r.args, approver: 'carol' });
    enforcer.reportApproval({ status: 'expired', decision: r.decision, args: r.args, reason: 'timed out' });
    await trail.flush();
    const approvals = sink.records.filter((x) => x.kind === 'approval');
    expect(approvals.map((a) => [a.approvalStatus, a.approver, a.reason])).toEqual([
      ['requested', null, null],
      ['approved', 'bob', 'ok'],
      ['rejected', 'carol', null],
      ['expired', null, 'timed out'],
    ]);
    for (const a of approvals) {
      expect(a.decisionId).toBe(r.decision.id);
      expect(a.argsHash).toBe(hashArgs({ amount: 5000, iban: 'DE89' }));
      expect(a.tool).toBe('wire');
    }
    expect(verifyMemory(sink).ok).toBe(true);
  });

  it('records shadow-mode decisions with both outcomes', async () => {
    const { sink, trail, enforcer } = setup({}, 'shadow');
    const r = decideAs(enforcer, 'refund', { amount: 900 });
    expect(r.decision.effective).toBe('allow');
    await trail.flush();
    expect(sink.records[0]).toMatchObject({ outcome: 'deny', effective: 'allow', mode: 'shadow' });
  });

  it('only enqueues on the decision path: nothing reaches the sink until the writer runs', async () => {
    const { sink, trail, enforcer } = setup();
    for (let i = 0; i < 10; i++) decideAs(enforcer, 'search', { q: i });
    expect(sink.appends).toEqual([]);
    expect(trail.stats().queued).toBe(10);
    await trail.flush();
    expect(sink.appends).toEqual([10]);
    expect(trail.stats()).toMatchObject({ queued: 0, written: 10 });
  });

  it('writes in batches of at most batchSize', async () => {
    const { sink, trail } = setup({ batchSize: 100 });
    for (let i = 0; i < 250; i++) trail.recordDecision(decisionEvent());
    await trail.flush();
    expect(sink.appends).toEqual([100, 100, 50]);
    expect(sink.records.map((r) => r.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
  });

  it('keeps one gap-free chain under many concurrent async requests', async () => {
    const { sink, trail, enforcer } = setup({ batchSize: 37, flushIntervalMs: 0 });
    const request = (i: number) =>
      runWithUser({ id: `user-${i % 7}`, roles: ['billing'] }, async () => {
        for (let step = 0; step < 5; step++) {
          await new Promise((resolve) => setTimeout(resolve, (i * 7 + step) % 3));
          enforcer.decide({ tool: step % 2 ? 'refund' : 'search', args: { amount: i * 10 + step } });
        }
      });
    await Promise.all(Array.from({ length: 200 }, (_, i) => request(i)));
    await trail.flush();
    expect(sink.records).toHaveLength(1000);
    expect(sink.records.map((r) => r.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(new Set(sink.records.map((r) => r.decisionId)).size).toBe(1000);
    const report = verifyMemory(sink);
    expect(report).toMatchObject({ ok: true, records: 1000, lastSeq: 1000 });
    for (const r of sink.records) expect(hashRecord(r)).toBe(r.hash);
  });

  it('flush() waits for a batch already in flight', async () => {
    const { sink, trail } = setup();
    const hold = latch();
    sink.gate = hold.promise;
    trail.recordDecision(decisionEvent());
    const flushed = trail.flush();
    let done = false;
    flushed.then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    hold.open();
    sink.gate = undefined;
    await flushed;
    expect(sink.records).toHaveLength(1);
  });
});

describe('failure mode failClosed (default)', () => {
  it('denies with "audit unavailable" while the sink fails, then records the refusals once it recovers', async () => {
    const { sink, trail, enforcer } = setup();
    decideAs(enforcer, 'search', { q: 1 });
    sink.down = true;
    await expect(trail.flush()).rejects.toThrow('sink is down');
    expect(trail.stats()).toMatchObject({ healthy: false, queued: 1, failures: 1 });

    const refused = decideAs(enforcer, 'search', { q: 2 });
    expect(refused.decision.effective).toBe('deny');
    expect(refused.decision.reason).toBe(AUDIT_UNAVAILABLE);
    decideAs(enforcer, 'refund', { amount: 1 });
    expect(trail.stats()).toMatchObject({ refused: 2, unreportedLosses: 2 });

    sink.down = false;
    await trail.flush();
    expect(trail.stats()).toMatchObject({ healthy: true, queued: 0, unreportedLosses: 0, refused: 2 });
    const kinds = sink.records.map((r) => r.kind);
    expect(kinds).toEqual(['loss', 'decision']);
    expect(sink.records[0]?.lost).toMatchObject({ refused: 2, dropped: 0 });
    expect(sink.records[0]?.reason).toContain('2 refused and denied (audit unavailable)');
    expect(verifyMemory(sink).ok).toBe(true);

    // Healthy again: decisions go through.
    expect(decideAs(enforcer, 'search', { q: 3 }).decision.effective).toBe('allow');
  });

  it('retries by itself after a failure (no flush needed)', async () => {
    const { sink, trail } = setup({ flushIntervalMs: 1 });
    sink.down = true;
    trail.recordDecision(decisionEvent());
    await expect.poll(() => trail.stats().failures).toBeGreaterThan(0);
    sink.down = false;
    await expect.poll(() => sink.records.length, { timeout: 5_000 }).toBe(1);
    expect(trail.stats().healthy).toBe(true);
  });

  it('denies when the queue is full', async () => {
    const { sink, trail, enforcer } = setup({ maxQueue: 3 });
    const hold = latch();
    sink.gate = hold.promise;
    const effective = Array.from({ length: 5 }, (_, i) => decideAs(enforcer, 'search', { q: i }).decision);
    expect(effective.map((d) => d.effective)).toEqual(['allow', 'allow', 'allow', 'deny', 'deny']);
    expect(effective[3]?.reason).toBe(AUDIT_UNAVAILABLE);
    hold.open();
    sink.gate = undefined;
    await trail.flush();
    expect(sink.records.map((r) => r.kind)).toEqual(['loss', 'decision', 'decision', 'decision']);
    expect(sink.records[0]?.lost?.refused).toBe(2);
  });
});

describe('a sink that hangs', () => {
  it('failClosed: denies once a write has hung past stallTimeoutMs, and records the refusals when it completes', async () => {
    // A dead database connection often neither answers nor fails. Until the
    // queue is full, decisions would run with their records only in memory.
    const errors: unknown[] = [];
    const { sink, trail, enforcer } = setup({ stallTimeoutMs: 20, onError: (e) => errors.push(e) });
    const hold = latch();
    sink.gate = hold.promise;
    expect(decideAs(enforcer, 'search', { q: 1 }).decision.effective).toBe('allow');
    await expect.poll(() => trail.stats().healthy).toBe(false);
    expect(trail.stats().lastError).toMatch(/did not finish within 20 ms/);
    const refused = decideAs(enforcer, 'search', { q: 2 });
    expect(refused.decision).toMatchObject({ effective: 'deny', reason: AUDIT_UNAVAILABLE });
    hold.open();
    sink.gate = undefined;
    await trail.flush();
    expect(trail.stats()).toMatchObject({ healthy: true, refused: 1, unreportedLosses: 0 });
    expect(sink.records.map((r) => r.kind)).toEqual(['decision', 'loss']);
    expect(verifyMemory(sink).ok).toBe(true);
    expect(decideAs(enforcer, 'search', { q: 3 }).decision.effective).toBe('allow');
    expect(errors.map((e) => (e as Error).message)).toEqual([expect.stringMatching(/did not finish within 20 ms/)]);
  });
});

describe('failure mode drop', () => {
  it('lets decisions through when the queue is full, counts them, and records the count when the sink recovers', async () => {
    const { sink, trail, enforcer } = setup({ failureMode: 'drop', maxQueue: 2 });
    sink.down = true;
    const decisions = Array.from({ length: 5 }, (_, i) => decideAs(enforcer, 'search', { q: i }).decision);
    expect(decisions.every((d) => d.effective === 'allow')).toBe(true);
    expect(trail.stats()).toMatchObject({ dropped: 3, queued: 2, unreportedLosses: 3 });
    await expect(trail.flush()).rejects.toThrow();
    // Still buffering while the sink is down (not refusing): drop mode only drops on a full queue.
    sink.down = false;
    await trail.flush();
    expect(sink.records.map((r) => r.kind)).toEqual(['loss', 'decision', 'decision']);
    expect(sink.records[0]?.lost).toMatchObject({ dropped: 3, refused: 0 });
    expect(trail.stats()).toMatchObject({ dropped: 3, unreportedLosses: 0 });
    expect(verifyMemory(sink).ok).toBe(true);
  });
});

describe('close', () => {
  it('drains the queue and closes the sink', async () => {
    const { sink, trail, enforcer } = setup();
    for (let i = 0; i < 5; i++) decideAs(enforcer, 'search', { q: i });
    await trail.close();
    expect(sink.records).toHaveLength(5);
    expect(sink.closed).toBe(true);
    // After close: refused (fail closed), never silently accepted.
    expect(decideAs(enforcer, 'search', { q: 9 }).decision.reason).toBe(AUDIT_UNAVAILABLE);
  });

  it('rejects, saying how many records were not written, when the sink is down', async () => {
    const { sink, trail } = setup();
    trail.recordDecision(decisionEvent());
    trail.recordDecision(decisionEvent());
    sink.down = true;
    await expect(trail.close()).rejects.toThrow(/2 record\(s\) could not be written/);
  });

  it('rejects an invalid configuration', () => {
    expect(() => createAuditTrail({ sink: {} as never })).toThrow(/head\(\) and append\(\)/);
    expect(() => createAuditTrail({ sink: new MemorySink(), failureMode: 'ignore' as never })).toThrow(/failureMode/);
    const invalid = (options: Partial<AuditTrailOptions>) => {
      try {
        createAuditTrail({ sink: new MemorySink(), exitHandler: false, ...options });
      } catch (e) {
        return HexgateError.isInstance(e) ? `${e.code}: ${e.message}` : e;
      }
      return 'accepted';
    };
    expect(invalid({ maxQueue: 0 })).toBe(
      'INVALID_OPTIONS: createAuditTrail: `maxQueue` must be a number >= 1 (got 0)',
    );
    expect(invalid({ batchSize: Number.NaN })).toMatch(/`batchSize` must be a number >= 1 \(got NaN\)/);
    expect(invalid({ flushIntervalMs: '25' as never })).toMatch(/`flushIntervalMs` must be a number >= 0/);
    expect(invalid({ chain: '' })).toMatch(/`chain` must be a non-empty string/);
    expect(invalid({ flushIntervalMs: 0, maxQueue: 1.5 })).toBe('accepted');
    expect(invalid({ stallTimeoutMs: 0 })).toMatch(/`stallTimeoutMs` must be a number >= 1/);
    // Redaction runs in the writer: unusable options would only show there, record after record.
    expect(invalid({ redact: { maxStringLength: -1 } })).toMatch(/^INVALID_OPTIONS: createAuditTrail: `redact`/);
    expect(invalid({ redact: { secretKeys: 'password' as never } })).toMatch(/^INVALID_OPTIONS: .*`redact`/);
    expect(invalid({ redact: { isSecretKey: true as never } })).toMatch(/^INVALID_OPTIONS: .*`redact`/);
    expect(invalid({ redact: { secretKeys: ['pin', /^x-/i], maxDepth: 4 } })).toBe('accepted');
  });
});

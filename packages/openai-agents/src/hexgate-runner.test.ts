import { RunState } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { describe, expect, it } from 'vitest';
import { bea, concurrentModel, enforcer, makeAgent, sam, toolOutputSeenByModel } from './__fixtures__/kit.ts';
import { HexgateRunner } from './index.ts';

function refundScript(amount: number, callId = 'r1') {
  return new ScriptedModel([
    [functionCall('refund', { order_id: 'A-1', amount }, { callId })],
    [assistantMessage('done')],
  ]);
}

/** sam's refund of 80, paused by one runner, saved, then restored and approved: a resume elsewhere. */
async function approvedElsewhere() {
  const model = refundScript(80);
  const { agent, executions } = makeAgent(model);
  const first = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });
  const saved = (await first.run(agent, 'refund 80', { user: sam })).state.toString();
  const restored = await RunState.fromString(agent, saved);
  restored.approve(restored.getInterruptions()[0]!);
  return { model, agent, executions, restored };
}

describe('HexgateRunner: allow and deny', () => {
  it('runs an allowed call once, with the decided arguments, and reports the decision with the agent name', async () => {
    const model = new ScriptedModel([
      [functionCall('get_order', { order_id: 'A-1' }, { callId: 'g1' })],
      [assistantMessage('your order shipped')],
    ]);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const result = await runner.run(agent, 'where is A-1?', { user: sam });

    expect(result.finalOutput).toBe('your order shipped');
    expect(executions).toEqual([{ tool: 'get_order', args: { order_id: 'A-1' }, user: 'sam' }]);
    expect(
      rec.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.decision.agentName, d.decision.userId]),
    ).toEqual([['get_order', 'allow', 'support-bot', 'sam']]);
    expect(toolOutputSeenByModel(model, 'g1')).toContain('order A-1');
  });

  it('never runs a denied call; the next model turn sees the [policy_denied] text and the run goes on', async () => {
    const model = new ScriptedModel([
      [functionCall('refund', { order_id: 'A-1', amount: 400 }, { callId: 'r1' })],
      [assistantMessage('sorry, I cannot refund that much')],
    ]);
    const { agent, executions } = makeAgent(model);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    const result = await runner.run(agent, 'refund 400', { user: sam });

    expect(executions).toEqual([]);
    expect(result.interruptions).toEqual([]);
    expect(result.finalOutput).toBe('sorry, I cannot refund that much');
    const seen = toolOutputSeenByModel(model, 'r1');
    expect(seen).toMatch(/^\[policy_denied\] Tool 'refund' is denied/);
    expect(seen).toContain('args.amount <= 100');
  });

  it('denies arguments with duplicate keys or non-finite numbers before the tool sees them', async () => {
    const model = new ScriptedModel([
      [
        // The SDK would JSON.parse these to amount 50 / Infinity; hexgate rejects the raw text.
        functionCall('refund', '{"order_id":"A-1","amount":500,"amount":50}', { callId: 'dup' }),
        functionCall('refund', '{"order_id":"A-1","amount":1e999}', { callId: 'inf' }),
      ],
      [assistantMessage('ok')],
    ]);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const result = await runner.run(agent, 'refund', { user: bea });

    expect(executions).toEqual([]);
    expect(result.interruptions).toEqual([]);
    expect(toolOutputSeenByModel(model, 'dup')).toMatch(/^\[policy_denied\].*duplicate key/);
    expect(toolOutputSeenByModel(model, 'inf')).toMatch(/^\[policy_denied\].*not finite/);
    expect(rec.decisions.every((d) => d.decision.outcome === 'deny' && d.args === undefined)).toBe(true);
  });

  it('uses a custom formatter for the model-facing text', async () => {
    const model = refundScript(400);
    const { agent } = makeAgent(model);
    const runner = new HexgateRunner({
      enforcer: enforcer(),
      formatDecision: (d) => `BLOCKED ${d.tool} (${d.outcome})`,
      tracingDisabled: true,
    });
    await runner.run(agent, 'refund', { user: sam });
    expect(toolOutputSeenByModel(model, 'r1')).toBe('BLOCKED refund (deny)');
  });
});

describe('HexgateRunner: options', () => {
  it('a formatter that throws falls back to the default text', async () => {
    const model = refundScript(400);
    const { agent } = makeAgent(model);
    const runner = new HexgateRunner({
      enforcer: enforcer(),
      formatDecision: () => {
        throw new Error('boom');
      },
      tracingDisabled: true,
    });
    const result = await runner.run(agent, 'refund', { user: sam });
    expect(result.finalOutput).toBe('done');
    expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[policy_denied\]/);
  });

  it('shadow mode reports the decision and lets the call run', async () => {
    const model = refundScript(400);
    const { agent, executions } = makeAgent(model);
    const decisions: unknown[] = [];
    const runner = new HexgateRunner({
      policy: enforcer().currentPolicy()!,
      mode: 'shadow',
      onDecision: (e) => decisions.push([e.decision.outcome, e.decision.effective]),
      tracingDisabled: true,
    });
    await runner.run(agent, 'refund', { user: sam });
    expect(executions).toHaveLength(1);
    expect(decisions).toEqual([['deny', 'allow']]);
  });

  it('rejects enforcer options next to a ready-made enforcer, naming only the ones given', () => {
    expect(() => new HexgateRunner({ enforcer: enforcer(), onDecision: () => {} } as never)).toThrow(
      /^hexgate: onDecision configure an enforcer; set them where you create yours$/,
    );
  });

  it('rejects options of the wrong type when the runner is made, not at the first call', () => {
    const make = (options: object) => () => new HexgateRunner({ enforcer: enforcer(), ...options } as never);
    expect(make({ approvalHandler: true })).toThrow(/`approvalHandler` must be a function/);
    expect(make({ formatDecision: 'BLOCKED' })).toThrow(/`formatDecision` must be a function/);
    expect(make({ handoffInputFilter: {} })).toThrow(/`handoffInputFilter` must be a function/);
    expect(make({ approvalTimeoutMs: -1 })).toThrow(/`approvalTimeoutMs` must be a positive number/);
    expect(make({ approvalTimeoutMs: Number.NaN })).toThrow(/`approvalTimeoutMs` must be a positive number/);
  });

  it('rejects a run whose `user` is not a User, before any call is decided', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });
    for (const user of ['sam', { roles: ['billing'] }, null])
      await expect(runner.run(agent, 'refund 80', { user: user as never })).rejects.toThrow(/`user` must be a User/);
    expect(model.calls).toHaveLength(0);
    expect(executions).toEqual([]);
    expect(rec.decisions).toEqual([]);
  });
});

describe('HexgateRunner: approvals through the SDK (interruptions)', () => {
  it('pauses; approve -> the tool runs exactly once with the approved arguments', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const paused = await runner.run(agent, 'refund 80', { user: sam });
    expect(executions).toEqual([]);
    expect(paused.interruptions.map((i) => [i.name, i.arguments])).toEqual([
      ['refund', JSON.stringify({ order_id: 'A-1', amount: 80 })],
    ]);
    expect(rec.approvals.map((a) => a.status)).toEqual(['requested']);

    const [item] = paused.interruptions;
    paused.state.approve(item!);
    const resumed = await runner.run(agent, paused.state, { user: sam });

    expect(resumed.finalOutput).toBe('done');
    expect(executions).toEqual([{ tool: 'refund', args: { order_id: 'A-1', amount: 80 }, user: 'sam' }]);
    expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'approved']);
    expect(rec.approvals[0]!.argsHash).toBe(rec.approvals[1]!.argsHash);
    expect(toolOutputSeenByModel(model, 'r1')).toBe('refunded 80 on A-1');
  });

  it('reject -> the tool never runs and the model sees the [approval_required] text', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const paused = await runner.run(agent, 'refund 80', { user: sam });
    paused.state.reject(paused.interruptions[0]!);
    const resumed = await runner.run(agent, paused.state, { user: sam });

    expect(resumed.finalOutput).toBe('done');
    expect(executions).toEqual([]);
    expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[approval_required\] Tool 'refund' requires human approval/);
    expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'rejected']);
  });

  it('resumes a RunState serialised with toString() and restored with fromString() on the original agent', async () => {
    const model = refundScript(80);
    const { agent, executions, refund } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const paused = await runner.run(agent, 'refund 80', { user: sam });
    const saved = paused.state.toString();

    // Later, elsewhere: restored against the application's own (ungated) agent.
    const restored = await RunState.fromString(agent, saved);
    expect(restored._currentAgent.tools).toContain(refund);
    restored.approve(restored.getInterruptions()[0]!);
    const resumed = await runner.run(agent, restored, { user: sam });

    expect(resumed.finalOutput).toBe('done');
    expect(executions).toEqual([{ tool: 'refund', args: { order_id: 'A-1', amount: 80 }, user: 'sam' }]);
    // The resumed call went through the gate (rebound to the gated agent), not the original tool.
    expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'approved']);
  });

  it('resumes in a fresh runner (the request was made elsewhere): the call is decided again and runs once', async () => {
    const { agent, executions, restored } = await approvedElsewhere();

    const rec = enforcer();
    const second = new HexgateRunner({ enforcer: rec, tracingDisabled: true });
    await second.run(agent, restored, { user: sam });

    expect(executions).toHaveLength(1);
    expect(rec.decisions.map((d) => d.decision.outcome)).toEqual(['approval_required', 'approval_required']);
    expect(rec.approvals.map((a) => a.status)).toEqual(['approved']);
  });

  it('an approval covers only the call and user it was requested for', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const paused = await runner.run(agent, 'refund 80', { user: sam });
    paused.state.approve(paused.interruptions[0]!);
    // Another support user resumes the run: the same call decided for them is not what was approved.
    await runner.run(agent, paused.state, { user: { id: 'mallory', roles: ['support'] } });

    expect(executions).toEqual([]);
    expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[approval_required\]/);
    expect(rec.approvals.at(-1)).toMatchObject({ status: 'rejected' });
  });

  it('an approval saved with the run does not transfer to another user in another runner either', async () => {
    const { model, agent, executions, restored } = await approvedElsewhere();

    const second = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });
    await second.run(agent, restored, { user: { id: 'mallory', roles: ['support'] } });

    expect(executions).toEqual([]);
    expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[approval_required\]/);
  });

  it('nor when the run context is the application’s own (no user carried in it)', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    const paused = await runner.run(agent, 'refund 80', { user: sam, context: { tenant: 't1' } });
    paused.state.approve(paused.interruptions[0]!);
    await runner.run(agent, paused.state, { user: { id: 'mallory', roles: ['support'] } });

    expect(executions).toEqual([]);
    expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[approval_required\]/);
  });

  it('a resume elsewhere counts an approval only for the user carried in the run state (none carried: no one)', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const first = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });
    const saved = (await first.run(agent, 'refund 80', { user: sam, context: { tenant: 't1' } })).state.toString();
    const restored = await RunState.fromString(agent, saved);
    restored.approve(restored.getInterruptions()[0]!);

    const second = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });
    await second.run(agent, restored, { user: sam });

    // Who asked is unknown here, so the approval cannot be tied to sam: the call stays blocked.
    expect(executions).toEqual([]);
    expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[approval_required\]/);
  });

  it('a sticky alwaysApprove does not extend to later calls with other arguments', async () => {
    const model = new ScriptedModel([
      [functionCall('refund', { order_id: 'A-1', amount: 80 }, { callId: 'r1' })],
      [functionCall('refund', { order_id: 'A-1', amount: 90 }, { callId: 'r2' })],
      [assistantMessage('done')],
    ]);
    const { agent, executions } = makeAgent(model);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    const paused = await runner.run(agent, 'refund', { user: sam });
    paused.state.approve(paused.interruptions[0]!, { alwaysApprove: true });
    const resumed = await runner.run(agent, paused.state, { user: sam });

    expect(resumed.finalOutput).toBe('done');
    expect(executions.map((e) => e.args)).toEqual([{ order_id: 'A-1', amount: 80 }]);
    expect(toolOutputSeenByModel(model, 'r2')).toMatch(/^\[approval_required\]/);
  });
});

describe('HexgateRunner: approvalHandler decides inline', () => {
  it('approves (literal true) or rejects without pausing the run', async () => {
    for (const [answer, ran] of [
      [true, 1],
      ['yes', 0],
    ] as const) {
      const model = refundScript(80);
      const { agent, executions } = makeAgent(model);
      const rec = enforcer();
      const seen: unknown[] = [];
      const runner = new HexgateRunner({
        enforcer: rec,
        approvalHandler: (req) => {
          seen.push(req.args);
          return answer;
        },
        tracingDisabled: true,
      });
      const result = await runner.run(agent, 'refund 80', { user: sam });
      expect(result.interruptions).toEqual([]);
      expect(seen).toEqual([{ order_id: 'A-1', amount: 80 }]);
      expect(executions).toHaveLength(ran);
      expect(rec.approvals.map((a) => a.status)).toEqual(['requested', ran ? 'approved' : 'rejected']);
      if (!ran) expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[approval_required\]/);
    }
  });

  it('a handler that never answers expires after the timeout', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({
      enforcer: rec,
      approvalHandler: () => new Promise(() => {}),
      approvalTimeoutMs: 20,
      tracingDisabled: true,
    });
    await runner.run(agent, 'refund 80', { user: sam });
    expect(executions).toEqual([]);
    expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'expired']);
  });
});

describe('HexgateRunner: a cancelled run', () => {
  it('never runs a call whose inline approval was still pending, even if the approver then says yes', async () => {
    const model = refundScript(80);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const cancel = new AbortController();
    let approverSignal: AbortSignal | undefined;
    let approve: (yes: boolean) => void = () => {};
    const runner = new HexgateRunner({
      enforcer: rec,
      approvalHandler: ({ signal }) => {
        approverSignal = signal;
        cancel.abort();
        return new Promise<boolean>((resolve) => {
          approve = resolve;
        });
      },
      tracingDisabled: true,
    });
    await runner.run(agent, 'refund 80', { user: sam, signal: cancel.signal }).catch(() => undefined);
    approve(true);
    await new Promise((r) => setTimeout(r, 0));
    expect(approverSignal?.aborted).toBe(true);
    expect(executions).toEqual([]);
    expect(rec.approvals.map((a) => [a.status, a.reason])).toEqual([
      ['requested', undefined],
      ['rejected', 'the call was cancelled before it was approved'],
    ]);
  });
});

describe('HexgateRunner: streamed runs behave the same', () => {
  it('allow, deny and approval pause/resume', async () => {
    const model = new ScriptedModel([
      [
        functionCall('get_order', { order_id: 'A-1' }, { callId: 'g1' }),
        functionCall('refund', { order_id: 'A-1', amount: 400 }, { callId: 'r-deny' }),
        functionCall('refund', { order_id: 'A-1', amount: 80 }, { callId: 'r-ask' }),
      ],
      [assistantMessage('done')],
    ]);
    const { agent, executions } = makeAgent(model);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    const stream = await runner.run(agent, 'go', { user: sam, stream: true });
    for await (const _event of stream) {
      // consume
    }
    await stream.completed;
    expect(stream.interruptions.map((i) => (i.rawItem as { callId?: string }).callId)).toEqual(['r-ask']);
    expect(executions.map((e) => e.tool)).toEqual(['get_order']);

    stream.state.approve(stream.interruptions[0]!);
    const resumed = await runner.run(agent, stream.state, { user: sam, stream: true });
    await resumed.completed;

    expect(resumed.finalOutput).toBe('done');
    expect(executions).toEqual([
      { tool: 'get_order', args: { order_id: 'A-1' }, user: 'sam' },
      { tool: 'refund', args: { order_id: 'A-1', amount: 80 }, user: 'sam' },
    ]);
    expect(toolOutputSeenByModel(model, 'r-deny')).toMatch(/^\[policy_denied\]/);
  });
});

describe('HexgateRunner: one wrapped agent, many users', () => {
  it('two users running the same agent concurrently each get their own role', async () => {
    const model = concurrentModel(() => ['refund', { order_id: 'A-1', amount: 300 }]);
    const { agent, executions } = makeAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const [s, b] = await Promise.all([
      runner.run(agent, 'sam', { user: sam }),
      runner.run(agent, 'bea', { user: bea }),
    ]);

    expect(executions).toEqual([{ tool: 'refund', args: { order_id: 'A-1', amount: 300 }, user: 'bea' }]);
    expect(String(s.finalOutput)).toContain('policy_denied');
    expect(String(b.finalOutput)).toContain('refunded 300');
    const byUser = Object.fromEntries(
      rec.decisions.map((d) => [d.decision.userId, [d.decision.outcome, d.decision.decidingRole]]),
    );
    expect(byUser).toEqual({ sam: ['deny', 'support'], bea: ['allow', 'billing'] });
  });
});

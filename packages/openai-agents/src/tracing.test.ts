/**
 * Langfuse tracing of HexgateRunner runs, asserted on what Langfuse's real
 * span processor and exporter sent to a local OTLP receiver: one trace per
 * run with the user, session and roles; one guardrail observation per tool
 * call with its decision; WARNING for what the policy did not simply allow;
 * never a raw secret; no mixing between concurrent users. The SDK's own
 * tracing stays disabled (kit.ts), so everything here is hexgate's.
 */
import { type DecisionEvent, runWithUser } from '@hexgate/core';
import { traceRun } from '@hexgate/tracing';
import { type ReceivedSpan, setupLangfuseForTest } from '@hexgate/tracing/testing';
import { Agent, computerTool, run, shellTool } from '@openai/agents';
import { assistantMessage, functionCall, modelError, ScriptedModel } from '@openai/agents/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bea,
  concurrentModel,
  enforcer,
  makeTools,
  sam,
  toolOutputSeenByModel,
  triageDesk,
} from './__fixtures__/kit.ts';
import {
  computerCall,
  dana,
  localEnforcer,
  recordingComputer,
  recordingShell,
  shellCall,
  tempDir,
} from './__fixtures__/local-tools.ts';
import { deskAgent, isGuardrail, isRun, only } from './__fixtures__/traced-desk.ts';
import { HexgateRunner, wrapOpenAIAgent } from './index.ts';

let lf: Awaited<ReturnType<typeof setupLangfuseForTest>>;
beforeEach(async () => {
  lf = await setupLangfuseForTest();
});
afterEach(() => lf.shutdown());

interface ReceivedTrace {
  readonly run: ReceivedSpan;
  readonly spans: ReceivedSpan[];
}

/** Every trace received, each checked to have exactly one hexgate run at its root. */
async function receivedTraces(): Promise<ReceivedTrace[]> {
  await lf.flush();
  return [...lf.receiver.traces().values()].map((spans) => {
    const runs = spans.filter(isRun);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.parentSpanId).toBeUndefined();
    return { run, spans };
  });
}

/** The guardrail's metadata must be the decision the enforcer made, field by field. */
function expectDecision(metadata: Readonly<Record<string, unknown>>, { decision: d }: DecisionEvent) {
  expect(metadata).toMatchObject({
    decisionId: d.id,
    outcome: d.outcome,
    effective: d.effective,
    reason: d.reason,
    violations: [...d.violations],
    decidingRole: d.decidingRole ?? null,
    policyDigest: d.policyDigest,
    evaluationMs: d.evaluationMs,
    agentName: d.agentName,
  });
}

describe('a traced run', () => {
  it('is one trace with the user, session, roles and agent; one guardrail per call; denials at WARNING', async () => {
    const model = new ScriptedModel([
      [
        functionCall('get_order', { order_id: 'A-1' }, { callId: 'g1' }),
        functionCall('reset_password', { account: 'A-1', password: 'hunter2' }, { callId: 'p1' }),
      ],
      [assistantMessage('done')],
    ]);
    const { agent, executions } = deskAgent(model);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const result = await runner.run(agent, 'reset my password to hunter2', { user: sam });

    expect(result.finalOutput).toBe('done');
    expect(executions.map((e) => e.tool)).toEqual(['get_order']);
    const traces = await receivedTraces();
    expect(traces).toHaveLength(1);
    const { run, spans } = traces[0]!;
    expect(run).toMatchObject({
      name: 'openai-agents:support-bot',
      traceName: 'openai-agents:support-bot',
      userId: 'sam',
      sessionId: 'sess-sam',
      traceMetadata: { roles: 'support', agent: 'support-bot', framework: 'openai-agents' },
    });
    expect(run.tags).toContain('hexgate');
    expect(run.observation.metadata).toMatchObject({
      agentName: 'support-bot',
      user: { id: 'sam', roles: ['support'], sessionId: 'sess-sam' },
      resumed: false,
      decisions: { allow: 1, deny: 1, approval_required: 0 },
      toolsRan: 1,
      runStatus: 'ok',
    });
    // Every span of the run carries the user and session (Langfuse's Users and Sessions views).
    for (const span of spans) expect([span.userId, span.sessionId]).toEqual(['sam', 'sess-sam']);

    // Parallel calls: the decisions come in no fixed order.
    const allowed = rec.decisions.find((e) => e.decision.tool === 'get_order');
    const denied = rec.decisions.find((e) => e.decision.tool === 'reset_password');
    const getOrder = only(spans, 'policy:get_order');
    expect(getOrder.parentSpanId).toBe(run.spanId);
    expect(getOrder.observation).toMatchObject({
      level: 'DEFAULT',
      input: { tool: 'get_order', args: { order_id: 'A-1' } },
      output: { outcome: 'allow', effective: 'allow' },
      metadata: { toolRan: true, toolStatus: 'ok', roles: ['support'] },
    });
    expectDecision(getOrder.observation.metadata, allowed!);
    const execution = only(spans, 'tool:get_order');
    expect(execution.parentSpanId).toBe(getOrder.spanId);
    expect(execution.observation).toMatchObject({ type: 'tool', output: { status: 'ok' } });

    const reset = only(spans, 'policy:reset_password');
    expect(reset.parentSpanId).toBe(run.spanId);
    expect(reset.observation).toMatchObject({
      level: 'WARNING',
      statusMessage: denied!.decision.reason,
      input: { tool: 'reset_password', args: { account: 'A-1', password: '[REDACTED]' } },
      output: { outcome: 'deny', effective: 'deny' },
      metadata: { toolRan: false, toolStatus: 'blocked' },
    });
    expectDecision(reset.observation.metadata, denied!);
    expect(spans.some((s) => s.name === 'tool:reset_password')).toBe(false);
    expect(lf.receiver.allBodies()).not.toContain('hunter2');
  });

  it('records a call whose raw arguments core rejected, redacted, without the raw text', async () => {
    const model = new ScriptedModel([
      [functionCall('reset_password', '{"account":"A-1","password":"hunter2","password":"x"}', { callId: 'p1' })],
      [assistantMessage('done')],
    ]);
    const { agent, executions } = deskAgent(model);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    await runner.run(agent, 'reset', { user: bea });

    expect(executions).toEqual([]);
    const { spans } = (await receivedTraces())[0]!;
    const reset = only(spans, 'policy:reset_password');
    expect(reset.observation).toMatchObject({
      level: 'WARNING',
      input: { args: { account: 'A-1', password: '[REDACTED]' } },
      output: { outcome: 'deny' },
    });
    expect(reset.observation.statusMessage).toMatch(/duplicate key/);
    expect(lf.receiver.allBodies()).not.toContain('hunter2');
  });
});

describe('approvals', () => {
  function refundRun() {
    const model = new ScriptedModel([
      [functionCall('refund', { order_id: 'A-1', amount: 80 }, { callId: 'r1' })],
      [assistantMessage('done')],
    ]);
    const { agent, executions } = deskAgent(model);
    const rec = enforcer();
    return { model, agent, executions, rec, runner: new HexgateRunner({ enforcer: rec, tracingDisabled: true }) };
  }

  it('pause and approved resume: two traces of one session; requested at WARNING, then approved and run', async () => {
    const { agent, executions, rec, runner } = refundRun();

    const paused = await runner.run(agent, 'refund 80', { user: sam });
    paused.state.approve(paused.interruptions[0]!);
    const resumed = await runner.run(agent, paused.state, { user: sam });

    expect(resumed.finalOutput).toBe('done');
    expect(executions).toHaveLength(1);
    const traces = await receivedTraces();
    expect(traces).toHaveLength(2);
    const [first, second] = traces as [ReceivedTrace, ReceivedTrace];
    for (const { run } of traces) expect([run.userId, run.sessionId]).toEqual(['sam', 'sess-sam']);
    expect(first.run.observation.metadata).toMatchObject({ resumed: false, toolsRan: 0 });
    expect(second.run.observation.metadata).toMatchObject({ resumed: true, toolsRan: 1 });

    const requested = only(first.spans, 'policy:refund');
    expect(requested.observation).toMatchObject({
      level: 'WARNING',
      output: { outcome: 'approval_required', effective: 'approval_required' },
      metadata: { approval: { status: 'requested' }, toolRan: false, toolStatus: 'pending_approval' },
    });
    expectDecision(requested.observation.metadata, rec.decisions[0]!);

    const approved = only(second.spans, 'policy:refund');
    expect(approved.parentSpanId).toBe(second.run.spanId);
    expect(approved.observation).toMatchObject({
      level: 'DEFAULT',
      output: { outcome: 'approval_required' },
      metadata: { approval: { status: 'approved' }, toolRan: true, toolStatus: 'ok' },
    });
    expectDecision(approved.observation.metadata, rec.decisions[1]!);
    expect(only(second.spans, 'tool:refund').parentSpanId).toBe(approved.spanId);
  });

  it('a resume without `user` is traced for the user carried in the run state', async () => {
    const { agent, executions, runner } = refundRun();

    const paused = await runner.run(agent, 'refund 80', { user: sam });
    paused.state.approve(paused.interruptions[0]!);
    await runner.run(agent, paused.state);

    expect(executions).toEqual([{ tool: 'refund', args: { order_id: 'A-1', amount: 80 }, user: undefined }]);
    const [, second] = await receivedTraces();
    expect([second!.run.userId, second!.run.sessionId]).toEqual(['sam', 'sess-sam']);
    expect(only(second!.spans, 'policy:refund').observation.metadata).toMatchObject({
      approval: { status: 'approved' },
      toolRan: true,
    });
  });

  it('a rejected approval is recorded in the resumed run, at WARNING, and the tool never runs', async () => {
    const { model, agent, executions, runner } = refundRun();

    const paused = await runner.run(agent, 'refund 80', { user: sam });
    paused.state.reject(paused.interruptions[0]!);
    await runner.run(agent, paused.state, { user: sam });

    expect(executions).toEqual([]);
    expect(toolOutputSeenByModel(model, 'r1')).toMatch(/^\[approval_required\]/);
    const [, second] = await receivedTraces();
    const rejected = only(second!.spans, 'policy:refund');
    expect(rejected.parentSpanId).toBe(second!.run.spanId);
    expect(rejected.observation).toMatchObject({
      level: 'WARNING',
      metadata: {
        approval: { status: 'rejected', reason: 'rejected through the run state' },
        toolRan: false,
        toolStatus: 'blocked',
      },
    });
  });

  it('an approvalHandler answer is one guardrail per call, with the answer', async () => {
    const model = new ScriptedModel([
      [functionCall('refund', { order_id: 'A-1', amount: 80 }, { callId: 'r1' })],
      [functionCall('refund', { order_id: 'A-2', amount: 90 }, { callId: 'r2' })],
      [assistantMessage('done')],
    ]);
    const { agent, executions } = deskAgent(model);
    const runner = new HexgateRunner({
      enforcer: enforcer(),
      approvalHandler: ({ args }) => (args as { order_id: string }).order_id === 'A-1',
      tracingDisabled: true,
    });

    await runner.run(agent, 'refunds', { user: sam });

    expect(executions.map((e) => e.args)).toEqual([{ order_id: 'A-1', amount: 80 }]);
    const { spans } = (await receivedTraces())[0]!;
    const refunds = spans.filter((s) => s.name === 'policy:refund');
    expect(
      refunds.map((s) => [s.observation.level, s.observation.metadata.approval, s.observation.metadata.toolStatus]),
    ).toEqual(
      expect.arrayContaining([
        ['DEFAULT', { status: 'approved', reason: expect.any(String) }, 'ok'],
        ['WARNING', { status: 'rejected', reason: expect.any(String) }, 'blocked'],
      ]),
    );
    expect(refunds).toHaveLength(2);
  });
});

describe('streamed runs', () => {
  it('stay one run until the stream is consumed: the decisions made while streaming are inside it', async () => {
    const model = new ScriptedModel([
      [
        functionCall('get_order', { order_id: 'A-1' }, { callId: 'g1' }),
        functionCall('refund', { order_id: 'A-1', amount: 400 }, { callId: 'r1' }),
      ],
      [assistantMessage('done')],
    ]);
    const { agent } = deskAgent(model);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    const stream = await runner.run(agent, 'go', { user: sam, stream: true });
    // Consumed as text, not by iterating the result: the run ends on `completed`.
    for await (const _chunk of stream.toTextStream()) {
      // consume
    }
    await stream.completed;

    expect(stream.finalOutput).toBe('done');
    const traces = await receivedTraces();
    expect(traces).toHaveLength(1);
    const { run, spans } = traces[0]!;
    expect([run.userId, run.sessionId]).toEqual(['sam', 'sess-sam']);
    // The summary is written when the run ends: it counts calls decided while the stream was read.
    expect(run.observation.metadata).toMatchObject({
      decisions: { allow: 1, deny: 1, approval_required: 0 },
      toolsRan: 1,
      runStatus: 'ok',
    });
    const guardrails = spans.filter(isGuardrail);
    expect(guardrails.map((g) => [g.name, g.observation.level, g.parentSpanId])).toEqual(
      expect.arrayContaining([
        ['policy:get_order', 'DEFAULT', run.spanId],
        ['policy:refund', 'WARNING', run.spanId],
      ]),
    );
    expect(guardrails).toHaveLength(2);
  });
});

describe('failed runs', () => {
  it('a run that fails, streamed or not, ends at ERROR after the calls it decided', async () => {
    const failing = () =>
      new ScriptedModel([
        [functionCall('get_order', { order_id: 'A-1' }, { callId: 'g1' })],
        modelError(new Error('model unavailable')),
      ]);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    await expect(runner.run(deskAgent(failing()).agent, 'go', { user: sam })).rejects.toThrow(/model unavailable/);
    const stream = await runner.run(deskAgent(failing()).agent, 'go', { user: bea, stream: true });
    await expect(stream.completed).rejects.toThrow(/model unavailable/);

    const traces = await receivedTraces();
    expect(traces).toHaveLength(2);
    for (const { run, spans } of traces) {
      expect(run.observation.level).toBe('ERROR');
      expect(run.observation.statusMessage).toMatch(/model unavailable/);
      expect(run.observation.metadata).toMatchObject({ runStatus: 'error', decisions: { allow: 1 }, toolsRan: 1 });
      expect(only(spans, 'policy:get_order').parentSpanId).toBe(run.spanId);
    }
  });
});

describe('concurrent users', () => {
  it('two users on one runner at once: one trace each, nothing of one in the other', async () => {
    const model = concurrentModel((who) => ['reset_password', { account: who, password: `secret-of-${who}` }]);
    const { agent, executions } = deskAgent(model);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    await Promise.all([runner.run(agent, 'sam', { user: sam }), runner.run(agent, 'bea', { user: bea })]);

    expect(executions).toEqual([{ tool: 'reset_password', args: { account: 'bea' }, user: 'bea' }]);
    const traces = await receivedTraces();
    expect(traces).toHaveLength(2);
    const byUser: Record<string, ReceivedTrace> = Object.fromEntries(traces.map((t) => [t.run.userId, t]));
    expect(Object.keys(byUser).sort()).toEqual(['bea', 'sam']);
    for (const [who, { run, spans }] of Object.entries(byUser)) {
      const user = who === 'sam' ? sam : bea;
      expect(run.traceMetadata).toMatchObject({ roles: user.roles.join(',') });
      for (const span of spans) expect([span.userId, span.sessionId]).toEqual([user.id, user.sessionId]);
      const guardrail = only(spans, 'policy:reset_password');
      expect(guardrail.observation.input).toEqual({
        tool: 'reset_password',
        args: { account: who, password: '[REDACTED]' },
      });
      expect(guardrail.observation.metadata.roles).toEqual(user.roles);
    }
    expect(only(byUser.sam!.spans, 'policy:reset_password').observation).toMatchObject({
      level: 'WARNING',
      metadata: { outcome: 'deny', toolRan: false },
    });
    expect(byUser.sam!.spans.some((s) => s.name.startsWith('tool:'))).toBe(false);
    expect(only(byUser.bea!.spans, 'policy:reset_password').observation).toMatchObject({
      level: 'DEFAULT',
      metadata: { outcome: 'allow', toolRan: true, toolStatus: 'ok' },
    });
    expect(only(byUser.bea!.spans, 'tool:reset_password').observation.input).toEqual({
      account: 'bea',
      password: '[REDACTED]',
    });
    const bodies = lf.receiver.allBodies();
    expect(bodies).not.toContain('secret-of-sam');
    expect(bodies).not.toContain('secret-of-bea');
  });
});

describe('handoffs', () => {
  it('a blocked handoff is a WARNING guardrail; an allowed one runs inside its guardrail, the next agent in the same trace', async () => {
    const blockedTriage = new ScriptedModel([
      [functionCall('transfer_to_billing_desk', {}, { callId: 'h1' })],
      [assistantMessage('I will handle it myself')],
    ]);
    const allowedTriage = new ScriptedModel([[functionCall('transfer_to_billing_desk', {}, { callId: 'h2' })]]);
    const deskModel = new ScriptedModel([
      [functionCall('wire_transfer', { amount: 5000 }, { callId: 'w1' })],
      [assistantMessage('cannot wire that much')],
    ]);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    await runner.run(triageDesk(blockedTriage, new ScriptedModel([])).triage, 'wire', { user: sam });
    const result = await runner.run(triageDesk(allowedTriage, deskModel).triage, 'wire', { user: bea });

    expect(result.lastAgent?.name).toBe('billing_desk');
    const traces = await receivedTraces();
    expect(traces).toHaveLength(2);
    const forSam = traces.find((t) => t.run.userId === 'sam')!;
    const forBea = traces.find((t) => t.run.userId === 'bea')!;
    expect(only(forSam.spans, 'policy:transfer_to_billing_desk').observation).toMatchObject({
      level: 'WARNING',
      metadata: { outcome: 'deny', agentName: 'triage', toolRan: false, toolStatus: 'blocked' },
    });
    const handoff = only(forBea.spans, 'policy:transfer_to_billing_desk');
    expect(handoff.observation).toMatchObject({
      level: 'DEFAULT',
      metadata: { outcome: 'allow', toolRan: true, toolStatus: 'ok' },
    });
    expect(only(forBea.spans, 'tool:transfer_to_billing_desk').parentSpanId).toBe(handoff.spanId);
    expect(only(forBea.spans, 'policy:wire_transfer').observation).toMatchObject({
      level: 'WARNING',
      metadata: { outcome: 'deny', agentName: 'billing_desk' },
    });
  });
});

describe('agents used as tools', () => {
  it("the inner agent's decisions nest under the agent tool's execution, in the run's trace", async () => {
    const tools = makeTools();
    const innerModel = new ScriptedModel([
      [functionCall('wire_transfer', { amount: 500 }, { callId: 'w1' })],
      [assistantMessage('wired')],
    ]);
    const inner = new Agent({ name: 'billing_desk', model: innerModel, tools: [tools.wire] });
    const outerModel = new ScriptedModel([
      [functionCall('ask_billing', { input: 'wire 500' }, { callId: 'a1' })],
      [assistantMessage('done')],
    ]);
    const front = new Agent({
      name: 'front',
      model: outerModel,
      tools: [inner.asTool({ toolName: 'ask_billing', toolDescription: 'Ask the billing desk' })],
    });
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    await runner.run(front, 'go', { user: bea });

    expect(tools.executions.map((e) => e.tool)).toEqual(['wire_transfer']);
    const traces = await receivedTraces();
    expect(traces).toHaveLength(1);
    const { run, spans } = traces[0]!;
    expect(only(spans, 'policy:ask_billing').parentSpanId).toBe(run.spanId);
    const askBilling = only(spans, 'tool:ask_billing');
    const wire = only(spans, 'policy:wire_transfer');
    expect(wire.parentSpanId).toBe(askBilling.spanId);
    expect(wire.observation.metadata).toMatchObject({ outcome: 'allow', agentName: 'billing_desk', toolRan: true });
    expect(run.observation.metadata).toMatchObject({ decisions: { allow: 2 }, toolsRan: 2 });
  });
});

describe('wrapOpenAIAgent with the SDK run', () => {
  it('records every decision with its user, in the trace of a run the application opens', async () => {
    const model = new ScriptedModel([
      [functionCall('reset_password', { account: 'A-1', password: 'hunter2' }, { callId: 'p1' })],
      [assistantMessage('done')],
    ]);
    const gated = wrapOpenAIAgent(deskAgent(model).agent, { enforcer: enforcer() });

    await runWithUser(sam, () => traceRun({ framework: 'my-app', agentName: 'desk' }, () => run(gated, 'reset')));

    const traces = await receivedTraces();
    expect(traces).toHaveLength(1);
    const { run: root, spans } = traces[0]!;
    expect(root).toMatchObject({ name: 'my-app:desk', userId: 'sam', sessionId: 'sess-sam' });
    const reset = only(spans, 'policy:reset_password');
    expect(reset.parentSpanId).toBe(root.spanId);
    expect(reset.observation).toMatchObject({ level: 'WARNING', metadata: { outcome: 'deny' } });
  });
});

describe('local shell and computer tools', () => {
  it('are traced like function tools: a run inside its guardrail, a blocked call (or batch) as WARNING', async () => {
    await using tmp = await tempDir();
    const { shell, runs } = recordingShell(tmp.dir);
    const { computer, actions } = recordingComputer();
    const model = new ScriptedModel([
      [shellCall('s-ok', ['echo hi']), shellCall('s-no', ['touch x'])],
      [
        computerCall('c1', [
          { type: 'click', x: 1, y: 2, button: 'left' },
          { type: 'type', text: 'no' },
        ]),
      ],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'devbox', model, tools: [shellTool({ shell }), computerTool({ computer })] });
    const runner = new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true });

    await runner.run(agent, 'go', { user: dana });

    expect(runs).toHaveLength(1);
    expect(actions).toEqual([]);
    const [{ run, spans }] = (await receivedTraces()) as [ReceivedTrace];
    expect(run.observation.metadata).toMatchObject({
      decisions: { allow: 2, deny: 2, approval_required: 0 },
      toolsRan: 1,
    });
    const shellGuards = spans.filter((s) => s.name === 'policy:shell');
    expect(
      shellGuards.map((s) => [s.observation.input, s.observation.level, s.observation.metadata.toolStatus]),
    ).toEqual(
      expect.arrayContaining([
        [{ tool: 'shell', args: { commands: ['echo hi'] } }, 'DEFAULT', 'ok'],
        [{ tool: 'shell', args: { commands: ['touch x'] } }, 'WARNING', 'blocked'],
      ]),
    );
    expect(only(spans, 'tool:shell').parentSpanId).toBe(
      shellGuards.find((s) => s.observation.level === 'DEFAULT')!.spanId,
    );
    // The click was allowed but did not run: its batch was blocked by the typing.
    const computerGuards = spans.filter((s) => s.name === 'policy:computer_use_preview');
    expect(
      computerGuards.map((s) => [
        (s.observation.output as { outcome?: string }).outcome,
        s.observation.metadata.toolRan,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['allow', false],
        ['deny', false],
      ]),
    );
    expect(spans.some((s) => s.name === 'tool:computer_use_preview')).toBe(false);
  });
});

/**
 * Tracing to Langfuse, end to end: generateText / streamText with the SDK's
 * mock model, gated by the adapter, wrapped in `traceHexgateRun`, exported by
 * Langfuse's real LangfuseSpanProcessor to a local OTLP receiver. The
 * assertions are on what went over the wire.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { runWithUser } from '@hexgate/core';
import { type LangfuseTestSetup, type ReceivedSpan, setupLangfuseForTest } from '@hexgate/tracing/testing';
import {
  AI_SDK_TELEMETRY_TRACING_CHANNEL,
  createAgentUIStreamResponse,
  stepCountIs,
  ToolLoopAgent,
  wrapLanguageModel,
} from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answerApproval } from './__fixtures__/chat-turn.ts';
import { scriptedModel, text } from './__fixtures__/scripted-model.ts';
import {
  alice,
  bob,
  mixedTurn,
  prompt,
  SECRET_ALLOWED,
  SECRET_DENIED,
  tracedDesk,
  tracedTurn,
} from './__fixtures__/traced-desk.ts';
import { hexgateModelMiddleware, traceHexgateRun } from './index.ts';

// One registered provider per file (it is global); the receiver is cleared per test.
let lf: LangfuseTestSetup;
beforeAll(async () => {
  lf = await setupLangfuseForTest();
});
afterAll(() => lf.shutdown());
beforeEach(() => lf.receiver.clear());
// The adapter listens to the SDK's channel only while a traced run is in flight.
afterEach(() => expect(tracingChannel(AI_SDK_TELEMETRY_TRACING_CHANNEL).hasSubscribers).toBe(false));

const isRun = (s: ReceivedSpan) => s.observation.type === 'agent';

/** Flushes until `runs` run observations have arrived (a run ends a few microtasks after its call returns). */
async function exportedRuns(runs: number): Promise<ReceivedSpan[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await lf.flush();
    if (lf.receiver.spans().filter(isRun).length >= runs) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const spans = lf.receiver.spans();
  expect(spans.filter(isRun)).toHaveLength(runs);
  return spans;
}

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `exactly one span named ${name}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

describe.each(['generate', 'stream'] as const)('%sText in traceHexgateRun', (kind) => {
  it('one trace per run, with the user, and a decision observation per tool call', async () => {
    const desk = tracedDesk();
    const model = scriptedModel(mixedTurn, text('done'));
    const first = await runWithUser(alice, () => tracedTurn(kind, desk, model, [prompt]));
    const spans = await exportedRuns(1);

    // What the app sees is unchanged: two calls ran, one was denied, one waits for approval.
    expect(desk.executions.sort()).toEqual(['connect_db', 'get_order']);
    expect(first.content.filter((p) => p.type === 'tool-approval-request')).toHaveLength(2);

    // One trace, named after the run, carrying the user, the session and the roles.
    expect(lf.receiver.traces().size).toBe(1);
    const run = only(spans, 'vercel-ai:support-bot');
    expect(run.parentSpanId).toBeUndefined();
    expect(run.traceName).toBe('vercel-ai:support-bot');
    expect(run.tags).toContain('hexgate');
    expect(run.traceMetadata).toMatchObject({ framework: 'vercel-ai', agent: 'support-bot', roles: 'support' });
    for (const span of spans) {
      expect(span.traceId).toBe(run.traceId);
      expect(span.userId).toBe('alice');
      expect(span.sessionId).toBe('sess-alice');
    }
    // The run ends after its tools: its summary counts all of them (for
    // streamText, only once the stream was read).
    expect(run.observation.metadata).toMatchObject({
      agentName: 'support-bot',
      user: { id: 'alice', roles: ['support'], sessionId: 'sess-alice' },
      decisions: { allow: 2, deny: 1, approval_required: 1 },
      toolsRan: 2,
      toolErrors: 0,
      runStatus: 'ok',
    });

    // A guardrail observation per call, child of the run, with the decision.
    const decisions = new Map(desk.enforcer.decisions.map(({ decision }) => [decision.tool, decision]));
    expect(decisions.size).toBe(4);
    for (const [tool, decision] of decisions) {
      const guardrail = only(spans, `policy:${tool}`);
      expect(guardrail.observation.type).toBe('guardrail');
      expect(guardrail.parentSpanId).toBe(run.spanId);
      expect(guardrail.observation.metadata).toMatchObject({
        decisionId: decision.id,
        outcome: decision.outcome,
        effective: decision.effective,
        reason: decision.reason,
        violations: [...decision.violations],
        decidingRole: 'support',
        roles: ['support'],
        agentName: 'support-bot',
        policyDigest: decision.policyDigest,
        mode: 'enforce',
      });
      expect(typeof guardrail.observation.metadata.evaluationMs).toBe('number');
      expect(guardrail.observation.output).toMatchObject({ outcome: decision.outcome, reason: decision.reason });
    }

    // Allowed: DEFAULT, the tool ran, its execution is a child observation.
    for (const tool of ['get_order', 'connect_db']) {
      const guardrail = only(spans, `policy:${tool}`);
      expect(guardrail.observation.level).toBe('DEFAULT');
      expect(guardrail.observation.metadata).toMatchObject({ outcome: 'allow', toolRan: true, toolStatus: 'ok' });
      const execution = only(spans, `tool:${tool}`);
      expect(execution.observation.type).toBe('tool');
      expect(execution.parentSpanId).toBe(guardrail.spanId);
      expect(execution.observation.output).toEqual({ status: 'ok' });
    }

    // Denied: WARNING with the reason, the tool did not run.
    const denied = only(spans, 'policy:delete_account');
    expect(denied.observation.level).toBe('WARNING');
    expect(denied.observation.statusMessage).toBe(decisions.get('delete_account')?.reason);
    expect(denied.observation.metadata).toMatchObject({ outcome: 'deny', toolRan: false, toolStatus: 'blocked' });
    expect(spans.some((s) => s.name === 'tool:delete_account')).toBe(false);

    // Approval required: WARNING, approval requested, nothing ran yet.
    const pending = only(spans, 'policy:refund_order');
    expect(pending.observation.level).toBe('WARNING');
    expect(pending.observation.metadata).toMatchObject({
      outcome: 'approval_required',
      approval: { status: 'requested' },
      toolRan: false,
      toolStatus: 'pending_approval',
    });
    expect(spans.some((s) => s.name === 'tool:refund_order')).toBe(false);

    // Arguments only in redacted form: no secret left the process.
    expect(only(spans, 'policy:connect_db').observation.input).toEqual({
      tool: 'connect_db',
      args: { host: 'db.internal', password: '[REDACTED]' },
    });
    expect(denied.observation.input).toEqual({
      tool: 'delete_account',
      args: { account: 'acme', password: '[REDACTED]' },
    });
    const wire = lf.receiver.allBodies();
    expect(wire).toContain('db.internal');
    expect(wire).not.toContain(SECRET_ALLOWED);
    expect(wire).not.toContain(SECRET_DENIED);
  });

  it('the approved resume is a trace of its own in the same session, and the tool runs in it', async () => {
    const desk = tracedDesk();
    const model = scriptedModel(mixedTurn, text('refund done'));
    const first = await runWithUser(alice, () => tracedTurn(kind, desk, model, [prompt]));
    await runWithUser(alice, () => tracedTurn(kind, desk, model, answerApproval(first, true, 'ok by lead')));
    const spans = await exportedRuns(2);

    expect(desk.executions).toContain('refund_order');
    const traces = [...lf.receiver.traces().values()];
    expect(traces).toHaveLength(2);
    const resumed = traces.find((t) => t.some((s) => s.name === 'tool:refund_order')) ?? [];
    for (const span of resumed) expect(span.sessionId).toBe('sess-alice');
    const approved = only(resumed, 'policy:refund_order');
    expect(approved.observation.level).toBe('DEFAULT');
    expect(approved.observation.metadata).toMatchObject({
      outcome: 'approval_required',
      approval: { status: 'approved', reason: 'ok by lead' },
      toolRan: true,
      toolStatus: 'ok',
    });
    expect(only(resumed, 'tool:refund_order').parentSpanId).toBe(approved.spanId);
    const run = only(resumed, 'vercel-ai:support-bot');
    expect(run.observation.metadata).toMatchObject({ decisions: { approval_required: 1 }, toolsRan: 1 });
    expect(spans.filter((s) => s.name === 'policy:refund_order')).toHaveLength(2);
  });

  it('a refused approval is recorded as rejected (WARNING) in the run that carries the refusal', async () => {
    const desk = tracedDesk();
    const mock = scriptedModel(mixedTurn, text('not refunded'));
    const model = wrapLanguageModel({ model: mock, middleware: hexgateModelMiddleware({ enforcer: desk.enforcer }) });
    const first = await runWithUser(alice, () => tracedTurn(kind, desk, model, [prompt]));
    await runWithUser(alice, () => tracedTurn(kind, desk, model, answerApproval(first, false, 'too much')));
    await exportedRuns(2);

    expect(desk.executions).not.toContain('refund_order');
    const resumed = [...lf.receiver.traces().values()].find((t) => !t.some((s) => s.name === 'policy:get_order')) ?? [];
    const rejected = only(resumed, 'policy:refund_order');
    expect(rejected.parentSpanId).toBe(only(resumed, 'vercel-ai:support-bot').spanId);
    expect(rejected.observation.level).toBe('WARNING');
    expect(rejected.observation.metadata).toMatchObject({
      approval: { status: 'rejected', reason: 'too much' },
      toolRan: false,
      toolStatus: 'blocked',
    });
  });

  it('concurrent runs of two users are two traces, each with its own decisions', async () => {
    const runs = [alice, bob].map((user) => {
      const desk = tracedDesk();
      const model = scriptedModel(mixedTurn, text('done'));
      return runWithUser(user, () => tracedTurn(kind, desk, model, [prompt]));
    });
    await Promise.all(runs);
    await exportedRuns(2);

    const traces = [...lf.receiver.traces().values()];
    expect(traces).toHaveLength(2);
    for (const trace of traces) {
      const users = new Set(trace.map((s) => s.userId));
      expect(users.size).toBe(1);
      expect(trace.filter((s) => s.observation.type === 'guardrail')).toHaveLength(4);
      expect(only(trace, 'vercel-ai:support-bot').observation.metadata).toMatchObject({ toolsRan: 2 });
    }
    expect(new Set(traces.map((t) => t[0]?.userId))).toEqual(new Set(['alice', 'bob']));
  });

  it('a run whose model fails is an ERROR observation', async () => {
    const desk = tracedDesk();
    const failing = new MockLanguageModelV4({
      doGenerate: async () => {
        throw new Error('provider down');
      },
      doStream: async () => {
        throw new Error('provider down');
      },
    });
    await expect(runWithUser(alice, () => tracedTurn(kind, desk, failing, [prompt]))).rejects.toThrow();
    const run = only(await exportedRuns(1), 'vercel-ai:support-bot');
    expect(run.observation.level).toBe('ERROR');
    expect(run.observation.metadata).toMatchObject({ runStatus: 'error' });
  });
});

describe('ToolLoopAgent behind createAgentUIStreamResponse (a route handler)', () => {
  it('one trace per request; the run counts the tools that ran while the response streamed', async () => {
    const desk = tracedDesk();
    const agent = new ToolLoopAgent({
      model: scriptedModel(mixedTurn, text('done')),
      ...desk.settings,
      stopWhen: stepCountIs(4),
    });
    const uiMessages = [{ id: 'm1', role: 'user' as const, parts: [{ type: 'text' as const, text: 'help with A-1' }] }];
    const response = await runWithUser(alice, () =>
      traceHexgateRun({ enforcer: desk.enforcer }, () => createAgentUIStreamResponse({ agent, uiMessages })),
    );
    const body = await response.text();
    expect(body).toContain('tool-approval-request');
    const run = only(await exportedRuns(1), 'vercel-ai:support-bot');
    expect(lf.receiver.traces().size).toBe(1);
    expect(run.userId).toBe('alice');
    expect(run.observation.metadata).toMatchObject({
      decisions: { allow: 2, deny: 1, approval_required: 1 },
      toolsRan: 2,
      runStatus: 'ok',
    });
  });
});

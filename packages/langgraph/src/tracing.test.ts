/**
 * Langfuse tracing of wrapped LangGraph runs, end to end: the real
 * LangfuseSpanProcessor and OTLP exporter send to a local receiver, and the
 * assertions are on what went over the wire.
 */
import { runWithUser } from '@hexgate/core';
import { isTracingEnabled } from '@hexgate/tracing';
import { type LangfuseTestSetup, type ReceivedSpan, setupLangfuseForTest } from '@hexgate/tracing/testing';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { Command, MemorySaver } from '@langchain/langgraph';
import { trace } from '@opentelemetry/api';
import { createAgent } from 'langchain';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AGENT_KINDS, ask, buildAgent, scriptedModel, thread, toolMessages } from './__fixtures__/agents.ts';
import {
  AGENT_NAME,
  alice,
  bob,
  LangfuseLikeHandler,
  SECRET,
  sharedAgent,
  tracedAgent,
  tracingEnforcer,
  tracingTools,
} from './__fixtures__/tracing.ts';
import {
  ApprovalUnavailableError,
  approve,
  guardTools,
  pendingApprovals,
  policyMiddleware,
  reject,
  wrapLangGraphAgent,
} from './index.ts';

let lf: LangfuseTestSetup;
beforeEach(async () => {
  lf = await setupLangfuseForTest();
});
afterEach(async () => {
  await lf.shutdown();
});

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `exactly one span named ${name}`).toHaveLength(1);
  return found[0]!;
}

function root(spans: ReceivedSpan[]): ReceivedSpan {
  const roots = spans.filter((s) => s.parentSpanId === undefined);
  expect(roots).toHaveLength(1);
  return roots[0]!;
}

/** The receiver's traces, each as its list of spans, in order of first appearance. */
async function exportedTraces(): Promise<ReceivedSpan[][]> {
  await lf.flush();
  return [...lf.receiver.traces().values()];
}

const RUN_NAME = `langgraph:${AGENT_NAME}`;

describe.each(AGENT_KINDS)('tracing wrapLangGraphAgent (%s)', (kind) => {
  it('allowed and denied calls: one trace for the run, with user, session, roles and a decision per call', async () => {
    expect(isTracingEnabled()).toBe(true);
    const { agent, recorder, executions } = tracedAgent(kind, [
      { name: 'login', args: { account: 'alice', password: SECRET }, id: 'ok' },
      { name: 'login', args: { account: 'root', password: SECRET }, id: 'no' },
    ]);
    await agent.invoke(ask(), { user: alice, ...thread('allow-deny') });
    expect(executions).toEqual([{ tool: 'login', user: 'alice' }]);

    const traces = await exportedTraces();
    expect(traces).toHaveLength(1);
    const spans = traces[0]!;
    const run = root(spans);
    expect(run.name).toBe(RUN_NAME);
    expect(run.observation.type).toBe('agent');
    expect(run.traceName).toBe(RUN_NAME);
    expect(run.tags).toContain('hexgate');
    expect(run.traceMetadata).toMatchObject({ framework: 'langgraph', agent: AGENT_NAME, roles: 'default' });
    expect(run.observation.metadata).toMatchObject({
      framework: 'langgraph',
      agentName: AGENT_NAME,
      method: 'invoke',
      user: { id: 'alice', roles: ['default'], sessionId: 'sess-alice' },
      decisions: { allow: 1, deny: 1, approval_required: 0 },
      toolsRan: 1,
      toolErrors: 0,
      runStatus: 'ok',
    });
    // Every span of the run carries the user and session (Langfuse's Users and Sessions views).
    for (const span of spans) expect([span.userId, span.sessionId]).toEqual(['alice', 'sess-alice']);

    const [allowed, denied] = recorder.decisions.map((d) => d.decision);
    const guardrails = spans.filter((s) => s.name === 'policy:login');
    expect(guardrails).toHaveLength(2);
    for (const g of guardrails) {
      expect(g.observation.type).toBe('guardrail');
      expect(g.parentSpanId).toBe(run.spanId);
      expect(g.observation.input).toEqual({
        tool: 'login',
        args: { account: expect.any(String), password: '[REDACTED]' },
      });
    }
    const allow = guardrails.find((g) => g.observation.metadata.decisionId === allowed!.id)!;
    expect(allow.observation.level).toBe('DEFAULT');
    expect(allow.observation.metadata).toMatchObject({
      outcome: 'allow',
      effective: 'allow',
      decidingRole: 'default',
      reason: allowed!.reason,
      violations: [],
      policyDigest: allowed!.policyDigest,
      evaluationMs: allowed!.evaluationMs,
      agentName: AGENT_NAME,
      toolRan: true,
      toolStatus: 'ok',
    });
    const tool = only(spans, 'tool:login');
    expect(tool.observation.type).toBe('tool');
    expect(tool.parentSpanId).toBe(allow.spanId);
    expect(tool.observation.output).toEqual({ status: 'ok' });

    const deny = guardrails.find((g) => g.observation.metadata.decisionId === denied!.id)!;
    expect(deny.observation.level).toBe('WARNING');
    expect(deny.observation.statusMessage).toBe(denied!.reason);
    expect(deny.observation.output).toMatchObject({ outcome: 'deny', effective: 'deny' });
    expect(deny.observation.metadata).toMatchObject({
      outcome: 'deny',
      effective: 'deny',
      violations: ['args.account != "root"'],
      policyDigest: denied!.policyDigest,
      toolRan: false,
      toolStatus: 'blocked',
    });

    expect(lf.receiver.allBodies()).not.toContain(SECRET);
  });

  it('approval: the paused run and the resumed run are two traces of the same session', async () => {
    const { agent, recorder, executions } = tracedAgent(kind, [
      { name: 'set_password', args: { account: 'alice', password: SECRET }, id: 'sp' },
    ]);
    const config = { user: alice, ...thread('approval') };
    const [pending] = pendingApprovals(await agent.invoke(ask(), config));
    expect(executions).toEqual([]);
    await agent.invoke(new Command({ resume: approve(pending!.request, { approver: 'carol' }) }), config);
    expect(executions).toEqual([{ tool: 'set_password', user: 'alice' }]);

    const traces = await exportedTraces();
    expect(traces).toHaveLength(2);
    const [paused, resumed] = traces.map((spans) => ({ spans, run: root(spans) }));
    for (const { run } of [paused!, resumed!]) {
      expect([run.name, run.userId, run.sessionId]).toEqual([RUN_NAME, 'alice', 'sess-alice']);
    }
    const [first, second] = recorder.decisions.map((d) => d.decision);

    const asked = only(paused!.spans, 'policy:set_password');
    expect(asked.parentSpanId).toBe(paused!.run.spanId);
    expect(asked.observation.level).toBe('WARNING');
    expect(asked.observation.metadata).toMatchObject({
      decisionId: first!.id,
      outcome: 'approval_required',
      effective: 'approval_required',
      approval: { status: 'requested' },
      toolRan: false,
      toolStatus: 'pending_approval',
    });
    expect(paused!.spans.some((s) => s.name === 'tool:set_password')).toBe(false);
    expect(paused!.run.observation.metadata).toMatchObject({
      decisions: { allow: 0, deny: 0, approval_required: 1 },
      toolsRan: 0,
      runStatus: 'ok',
    });

    // On resume the call is decided again, and the approval lets it run.
    const approved = only(resumed!.spans, 'policy:set_password');
    expect(approved.parentSpanId).toBe(resumed!.run.spanId);
    expect(approved.observation.level).toBe('DEFAULT');
    expect(approved.observation.metadata).toMatchObject({
      decisionId: second!.id,
      outcome: 'approval_required',
      approval: { status: 'approved', approver: 'carol' },
      toolRan: true,
      toolStatus: 'ok',
    });
    expect(only(resumed!.spans, 'tool:set_password').parentSpanId).toBe(approved.spanId);
    expect(lf.receiver.allBodies()).not.toContain(SECRET);
  });

  it('a rejected approval is a WARNING decision whose tool did not run', async () => {
    const { agent, executions } = tracedAgent(kind, [
      { name: 'set_password', args: { account: 'alice', password: SECRET }, id: 'sp' },
    ]);
    const config = { user: alice, ...thread('rejected') };
    const [pending] = pendingApprovals(await agent.invoke(ask(), config));
    await agent.invoke(new Command({ resume: reject(pending!.request, 'not today') }), config);
    expect(executions).toEqual([]);
    const [, resumed] = await exportedTraces();
    const rejected = only(resumed!, 'policy:set_password');
    expect(rejected.observation.level).toBe('WARNING');
    expect(rejected.observation.metadata).toMatchObject({
      approval: { status: 'rejected', reason: 'not today' },
      toolRan: false,
      toolStatus: 'blocked',
    });
    expect(resumed!.some((s) => s.name === 'tool:set_password')).toBe(false);
  });

  it('a tool that throws is an ERROR tool observation; the model still gets a tool message', async () => {
    const { agent } = tracedAgent(kind, [{ name: 'flaky', args: {}, id: 'f' }]);
    const outcome = await agent.invoke(ask(), { user: alice, ...thread('flaky') }).then(
      (result) => toolMessages(result.messages).map((m) => m.status),
      (error: unknown) => error,
    );
    const [spans] = await exportedTraces();
    const tool = only(spans!, 'tool:flaky');
    expect(tool.observation.level).toBe('ERROR');
    expect(tool.observation.statusMessage).toMatch(/upstream timeout/);
    expect(only(spans!, 'policy:flaky').observation.metadata).toMatchObject({ toolRan: true, toolStatus: 'error' });
    expect(root(spans!).observation.metadata).toMatchObject({ toolsRan: 1, toolErrors: 1, runStatus: 'ok' });
    // The ToolNode turned the throw into an error ToolMessage, as it does untraced.
    expect(outcome).toEqual(['error']);
  });

  it('an approval the run cannot pause for (no checkpointer): the decision never ran and the run is ERROR', async () => {
    const { agent, executions } = tracedAgent(
      kind,
      [{ name: 'set_password', args: { account: 'alice', password: SECRET }, id: 'sp' }],
      { checkpointer: false },
    );
    const error = await agent.invoke(ask(), { user: alice }).catch((e: unknown) => e);
    expect(ApprovalUnavailableError.isInstance(error)).toBe(true);
    expect(executions).toEqual([]);
    const [spans] = await exportedTraces();
    const run = root(spans!);
    expect(run.observation.level).toBe('ERROR');
    expect(run.observation.metadata.runStatus).toBe('error');
    const decision = only(spans!, 'policy:set_password');
    expect(decision.parentSpanId).toBe(run.spanId);
    expect(decision.observation.metadata).toMatchObject({ outcome: 'approval_required', toolRan: false });
    expect(spans!.some((s) => s.name === 'tool:set_password')).toBe(false);
  });

  it('two concurrent users: one trace each, and no span of one user in the other trace', async () => {
    const { agent, executions } = sharedAgent(kind, 2);
    await Promise.all(
      [alice, bob].map((user) => agent.invoke(ask(user.id), { user, ...thread(`concurrent-${user.id}`) })),
    );
    expect(executions.map((e) => `${e.tool}:${e.user}`).sort()).toEqual([
      'get_weather:bob',
      'whoami:alice',
      'whoami:bob',
    ]);
    const traces = await exportedTraces();
    expect(traces).toHaveLength(2);
    const byUser = new Map(traces.map((spans) => [root(spans).userId, spans]));
    expect([...byUser.keys()].sort()).toEqual(['alice', 'bob']);
    for (const [user, spans] of byUser) {
      const run = root(spans);
      const session = user === 'alice' ? 'sess-alice' : 'sess-bob';
      for (const span of spans) expect([span.userId, span.sessionId]).toEqual([user, session]);
      expect(run.traceMetadata.roles).toBe(user === 'alice' ? 'default' : 'admin');
      // Both guardrails hang off this user's run, with this user's roles.
      const guardrails = spans.filter((s) => s.observation.type === 'guardrail');
      expect(guardrails.map((g) => g.name).sort()).toEqual(['policy:get_weather', 'policy:whoami']);
      for (const g of guardrails) {
        expect(g.parentSpanId).toBe(run.spanId);
        expect(g.observation.metadata.roles).toEqual(user === 'alice' ? ['default'] : ['admin']);
      }
      const weather = only(spans, 'policy:get_weather');
      expect(weather.observation.metadata.outcome).toBe(user === 'alice' ? 'deny' : 'allow');
      expect(weather.observation.level).toBe(user === 'alice' ? 'WARNING' : 'DEFAULT');
      expect(
        spans
          .filter((s) => s.name.startsWith('tool:'))
          .map((s) => s.name)
          .sort(),
      ).toEqual(user === 'alice' ? ['tool:whoami'] : ['tool:get_weather', 'tool:whoami']);
    }
  });

  it('streamEvents v3: the run ends when the GraphRunStream output settles, even if nothing iterates it', async () => {
    const { agent, executions } = tracedAgent(kind, [{ name: 'get_weather', args: { city: 'Oslo' }, id: 'o' }]);
    const run = await agent.streamEvents(ask(), { user: alice, version: 'v3', ...thread('v3') });
    await run.output;
    expect(executions).toEqual([{ tool: 'get_weather', user: 'alice' }]);
    const traces = await exportedTraces();
    expect(traces).toHaveLength(1);
    const root_ = root(traces[0]!);
    expect(root_.observation.metadata).toMatchObject({ method: 'streamEvents', runStatus: 'ok', toolsRan: 1 });
    expect(only(traces[0]!, 'policy:get_weather').parentSpanId).toBe(root_.spanId);
  });

  it('stream() and streamEvents(): the run ends when the stream is consumed, tool calls nest under it', async () => {
    const { agent } = tracedAgent(kind, [
      { name: 'whoami', args: { tag: 's' }, id: 'w' },
      { name: 'set_password', args: { account: 'alice', password: SECRET }, id: 'sp' },
    ]);
    const config = { user: alice, ...thread('streams') };
    const stream = await agent.stream(ask(), { ...config, streamMode: 'updates' });
    const chunks: Record<string, unknown>[] = [];
    // Consumed from another user's scope: the run still belongs to alice.
    await runWithUser(bob, async () => {
      for await (const chunk of stream) chunks.push(chunk);
    });
    const [pending] = pendingApprovals(chunks.find((c) => '__interrupt__' in c));
    const events = agent.streamEvents(new Command({ resume: approve(pending!.request) }), {
      ...config,
      version: 'v2',
    });
    await runWithUser(bob, async () => {
      for await (const _ of events) {
        // drain
      }
    });

    const traces = await exportedTraces();
    expect(traces).toHaveLength(2);
    const [streamed, evented] = traces.map((spans) => ({ spans, run: root(spans) }));
    expect(streamed!.run.observation.metadata).toMatchObject({ method: 'stream', runStatus: 'ok' });
    expect(evented!.run.observation.metadata).toMatchObject({ method: 'streamEvents', runStatus: 'ok' });
    for (const { spans, run } of [streamed!, evented!]) {
      expect([run.name, run.userId, run.sessionId]).toEqual([RUN_NAME, 'alice', 'sess-alice']);
      for (const g of spans.filter((s) => s.observation.type === 'guardrail')) expect(g.parentSpanId).toBe(run.spanId);
    }
    expect(only(streamed!.spans, 'policy:set_password').observation.metadata.toolStatus).toBe('pending_approval');
    expect(only(evented!.spans, 'policy:set_password').observation.metadata.toolStatus).toBe('ok');
    expect(lf.receiver.allBodies()).not.toContain(SECRET);
  });
});

describe('tracing the other forms of the gate', () => {
  it('approvalHandler: an inline approval is one decision, approved (tool ran) or rejected (WARNING)', async () => {
    const { tools, executions } = tracingTools();
    const calls = [
      { name: 'set_password', args: { account: 'alice', password: SECRET }, id: 'yes' },
      { name: 'set_password', args: { account: 'root', password: SECRET }, id: 'no' },
    ];
    const graph = buildAgent('createAgent', scriptedModel(calls), tools, null);
    const agent = wrapLangGraphAgent(graph, tools, {
      enforcer: tracingEnforcer(),
      agentName: AGENT_NAME,
      approvalHandler: ({ args }) => (args as { account: string }).account === 'alice',
    });
    await agent.invoke(ask(), { user: alice });
    expect(executions).toEqual([{ tool: 'set_password', user: 'alice' }]);
    const [spans] = await exportedTraces();
    const decisions = spans!.filter((s) => s.name === 'policy:set_password');
    expect(decisions).toHaveLength(2);
    const approved = decisions.find((d) => d.observation.metadata.toolRan === true)!;
    expect(approved.observation.level).toBe('DEFAULT');
    expect(approved.observation.metadata).toMatchObject({ approval: { status: 'approved' }, toolStatus: 'ok' });
    expect(only(spans!, 'tool:set_password').parentSpanId).toBe(approved.spanId);
    const rejected = decisions.find((d) => d !== approved)!;
    expect(rejected.observation.level).toBe('WARNING');
    expect(rejected.observation.metadata).toMatchObject({
      approval: { status: 'rejected', reason: 'approval was not granted' },
      toolRan: false,
      toolStatus: 'blocked',
    });
    expect(lf.receiver.allBodies()).not.toContain(SECRET);
  });

  it('guardTools and policyMiddleware: decisions nest under the span the caller has open, with the caller attributed', async () => {
    const app = trace.getTracer('langfuse-sdk');
    const { tools, executions } = tracingTools();
    const gated = guardTools(tools, { enforcer: tracingEnforcer() });
    const graph = buildAgent(
      'createReactAgent',
      scriptedModel([{ name: 'login', args: { account: 'root', password: SECRET }, id: 'g' }]),
      gated,
    );
    await runWithUser(alice, () =>
      app.startActiveSpan('my-request', async (span) => {
        await graph.invoke(ask(), thread('guard-tools'));
        span.end();
      }),
    );
    const middlewareAgent = createAgent({
      model: scriptedModel([{ name: 'login', args: { account: 'bob', password: SECRET }, id: 'm' }]),
      tools: tracingTools().tools,
      middleware: [policyMiddleware({ enforcer: tracingEnforcer() })],
      checkpointer: new MemorySaver(),
    });
    await runWithUser(bob, () =>
      app.startActiveSpan('my-other-request', async (span) => {
        await middlewareAgent.invoke(ask(), thread('middleware'));
        span.end();
      }),
    );
    expect(executions).toEqual([]);

    const traces = await exportedTraces();
    expect(traces).toHaveLength(2);
    const [viaCopies, viaMiddleware] = traces;
    const outer = only(viaCopies!, 'my-request');
    const denied = only(viaCopies!, 'policy:login');
    expect(denied.parentSpanId).toBe(outer.spanId);
    expect(denied.observation).toMatchObject({ type: 'guardrail', level: 'WARNING' });
    expect([denied.userId, denied.sessionId]).toEqual(['alice', 'sess-alice']);

    const outer2 = only(viaMiddleware!, 'my-other-request');
    const allowed = only(viaMiddleware!, 'policy:login');
    expect(allowed.parentSpanId).toBe(outer2.spanId);
    expect(allowed.observation.metadata).toMatchObject({ outcome: 'allow', toolRan: true, toolStatus: 'ok' });
    expect(only(viaMiddleware!, 'tool:login').parentSpanId).toBe(allowed.spanId);
    expect([allowed.userId, allowed.sessionId]).toEqual(['bob', 'sess-bob']);
    expect(lf.receiver.allBodies()).not.toContain(SECRET);
  });

  it('guardTools with no span open: each decision is its own trace, still attributed to the caller', async () => {
    const [login] = guardTools([tracingTools().login], { enforcer: tracingEnforcer() });
    await runWithUser(alice, () => login!.invoke({ account: 'root', password: SECRET }));
    const traces = await exportedTraces();
    expect(traces).toHaveLength(1);
    const decision = root(traces[0]!);
    expect(decision.name).toBe('policy:login');
    expect([decision.userId, decision.sessionId]).toEqual(['alice', 'sess-alice']);
  });
});

describe('LangChain callbacks exporting to Langfuse (the @langfuse/langchain pattern)', () => {
  /** Builds the handler the way an application would, with LANGCHAIN_CALLBACKS_BACKGROUND=false set. */
  function foregroundHandler(): LangfuseLikeHandler {
    const saved = process.env.LANGCHAIN_CALLBACKS_BACKGROUND;
    process.env.LANGCHAIN_CALLBACKS_BACKGROUND = 'false';
    try {
      return new LangfuseLikeHandler();
    } finally {
      if (saved === undefined) delete process.env.LANGCHAIN_CALLBACKS_BACKGROUND;
      else process.env.LANGCHAIN_CALLBACKS_BACKGROUND = saved;
    }
  }

  it.each(AGENT_KINDS)(
    '%s: the framework run nests in the hexgate run, one trace per user even under concurrency',
    async (kind) => {
      const handler = foregroundHandler();
      expect(handler.awaitHandlers).toBe(true);
      const { agent } = sharedAgent(kind, 2);
      await Promise.all(
        [alice, bob].map((user) =>
          agent.invoke(ask(user.id), { user, callbacks: [handler], ...thread(`callbacks-${user.id}`) }),
        ),
      );
      const traces = await exportedTraces();
      expect(traces).toHaveLength(2);
      for (const spans of traces) {
        const run = root(spans);
        expect(run.name).toBe(RUN_NAME);
        // The framework's root run (named after the graph) is a child of the hexgate run...
        const frameworkRoots = spans.filter((s) => s.scope === 'langfuse-sdk' && s.parentSpanId === run.spanId);
        const guardrails = spans.filter((s) => s.observation.type === 'guardrail');
        const framework = frameworkRoots.filter((s) => !guardrails.includes(s));
        expect(framework).toHaveLength(1);
        // ...with the model and tool runs below it, all in this user's trace.
        const below = spans.filter((s) => s !== run && !guardrails.includes(s) && !s.name.startsWith('tool:'));
        expect(below.length).toBeGreaterThan(3);
        // LangChain's own tool runs: get_weather is denied for alice, so it never started.
        const langchainTools = spans.filter((s) => s.observation.type === 'tool' && !s.name.startsWith('tool:'));
        expect(langchainTools.map((s) => s.name).sort()).toEqual(
          run.userId === 'alice' ? ['whoami'] : ['get_weather', 'whoami'],
        );
        // The guardrails are children of the hexgate run, next to the framework's run.
        expect(guardrails).toHaveLength(2);
        for (const g of guardrails) expect(g.parentSpanId).toBe(run.spanId);
        for (const span of spans) expect(span.userId).toBe(run.userId);
      }
    },
  );

  it('background callbacks (LangChain default): hexgate spans stay in the right trace, and one warning says how to fix the rest', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const handler = new LangfuseLikeHandler();
      expect(handler.awaitHandlers).toBe(false);
      const { agent } = sharedAgent('createAgent', 2);
      await Promise.all(
        [alice, bob].map((user) =>
          agent.invoke(ask(user.id), { user, callbacks: [handler], ...thread(`background-${user.id}`) }),
        ),
      );
      await awaitAllCallbacks();
      const traces = await exportedTraces();
      // The framework's spans may be in the wrong trace here (that is the warning);
      // hexgate's run, guardrails and tool observations never are.
      const hexgate = (spans: ReceivedSpan[]) =>
        spans.filter(
          (s) => s.observation.type === 'agent' || s.name.startsWith('policy:') || s.name.startsWith('tool:'),
        );
      const byUser = new Map(traces.map((spans) => [root(spans).userId, hexgate(spans)]));
      expect([...byUser.keys()].sort()).toEqual(['alice', 'bob']);
      for (const [user, spans] of byUser) {
        for (const span of spans) expect(span.userId).toBe(user);
        expect(spans.map((s) => s.name).sort()).toEqual(
          user === 'alice'
            ? [RUN_NAME, 'policy:get_weather', 'policy:whoami', 'tool:whoami']
            : [RUN_NAME, 'policy:get_weather', 'policy:whoami', 'tool:get_weather', 'tool:whoami'],
        );
      }
      const warnings = warn.mock.calls.filter(([message]) =>
        String(message).includes('LANGCHAIN_CALLBACKS_BACKGROUND'),
      );
      expect(warnings).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });
});

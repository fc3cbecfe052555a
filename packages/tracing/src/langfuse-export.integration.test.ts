/**
 * End to end through Langfuse's real LangfuseSpanProcessor and OTLP exporter,
 * against a local receiver: assertions are on what actually went over the wire.
 */

import { createEnforcer, PolicyDeniedError, runWithUser } from '@hexgate/core';
import { trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  callTool,
  executions,
  makeEnforcer,
  policy,
  simulatedRun,
  standardCalls,
} from './__fixtures__/simulated-agent.ts';
import {
  createTracingListener,
  isTracingEnabled,
  recordDecision,
  traceRun,
  traceRunStream,
  traceToolCall,
} from './index.ts';
import { type LangfuseTestSetup, type ReceivedSpan, setupLangfuseForTest } from './testing/index.ts';

const alice = {
  id: 'alice',
  roles: ['support'],
  sessionId: 'sess-alice',
  attributes: { region: 'EU', token: 'tok-secret-1' },
};
const bob = { id: 'bob', roles: [], sessionId: 'sess-bob' };

let lf: LangfuseTestSetup;
beforeEach(async () => {
  executions.length = 0;
  lf = await setupLangfuseForTest();
});
afterEach(async () => {
  await lf.shutdown();
});

const byName = (spans: ReceivedSpan[], name: string) => {
  const found = spans.filter((s) => s.name === name);
  expect(found, `exactly one span named ${name}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
};

describe('Langfuse export', () => {
  it('one trace per run, with user, session and roles, and a guardrail observation per tool call', async () => {
    expect(isTracingEnabled()).toBe(true);
    const enforcer = makeEnforcer();
    const [aliceOut, bobOut] = await Promise.all([
      simulatedRun(enforcer, alice, standardCalls),
      simulatedRun(enforcer, bob, standardCalls),
    ]);
    await lf.flush();

    // What the model saw is what an untraced run gives (see no-tracer.test.ts).
    expect(aliceOut[0]).toBe('sunny in Paris');
    expect(aliceOut[1]).toMatch(/^\[policy_denied\]/);
    expect(aliceOut[3]).toBe('refunded 50');
    expect(aliceOut[4]).toBe('[tool_error] upstream timeout');
    expect(bobOut[3]).toMatch(/^\[policy_denied\]/);

    // Langfuse's own exporter, configured like a user would, talked to us.
    expect(lf.receiver.requests.length).toBeGreaterThan(0);
    for (const req of lf.receiver.requests) {
      expect(req.method).toBe('POST');
      expect(req.path).toBe('/api/public/otel/v1/traces');
      expect(req.headers.authorization).toBe(
        `Basic ${Buffer.from(`${lf.publicKey}:${lf.secretKey}`).toString('base64')}`,
      );
    }

    const traces = [...lf.receiver.traces().values()];
    expect(traces).toHaveLength(2);
    for (const [user, out] of [
      [alice, aliceOut],
      [bob, bobOut],
    ] as const) {
      const spans = traces.find((t) => t.some((s) => s.userId === user.id)) ?? [];
      const roots = spans.filter((s) => s.parentSpanId === undefined);
      expect(roots).toHaveLength(1);
      const run = roots[0] as ReceivedSpan;
      expect(run).toMatchObject({ name: 'test:support-bot', scope: 'langfuse-sdk', traceName: 'test:support-bot' });
      expect(run.observation.type).toBe('agent');
      expect(run.tags).toContain('hexgate');
      expect(run.traceMetadata).toMatchObject({ framework: 'test', agent: 'support-bot' });
      expect(run.traceMetadata.roles).toBe(user.roles.length ? user.roles.join(',') : undefined);
      // Every observation of the run carries the user and the session.
      for (const s of spans) expect([s.userId, s.sessionId]).toEqual([user.id, user.sessionId]);

      const guardrails = spans.filter((s) => s.observation.type === 'guardrail');
      expect(guardrails.map((g) => g.name).sort()).toEqual(standardCalls.map((c) => `policy:${c.tool}`).sort());
      for (const g of guardrails) expect(g.parentSpanId).toBe(run.spanId);

      // Each guardrail is the enforcer's decision, attribute for attribute.
      const decided = enforcer.decisions.filter((d) => d.decision.userId === user.id).map((d) => d.decision);
      for (const decision of decided) {
        const g = byName(guardrails, `policy:${decision.tool}`);
        expect(g.observation.metadata).toMatchObject({
          decisionId: decision.id,
          outcome: decision.outcome,
          effective: decision.effective,
          mode: 'enforce',
          reason: decision.reason,
          violations: [...decision.violations],
          policyDigest: policy.digest,
          agentName: 'support-bot',
          roles: [...user.roles],
        });
        expect(g.observation.metadata.decidingRole).toBe(decision.decidingRole ?? null);
        expect(typeof g.observation.metadata.evaluationMs).toBe('number');
        expect(g.observation.output).toMatchObject({ outcome: decision.outcome, reason: decision.reason });
      }
      const run0 = out;
      expect(run0).toHaveLength(standardCalls.length);

      // Denials stand out; allowed calls do not.
      const denied = byName(guardrails, 'policy:change_password');
      expect(denied.observation.level).toBe('WARNING');
      expect(denied.observation.statusMessage).toBe(denied.observation.metadata.reason);
      expect(denied.observation.metadata).toMatchObject({ toolRan: false, toolStatus: 'blocked' });
      expect(byName(guardrails, 'policy:get_weather').observation).toMatchObject({ level: 'DEFAULT' });
      expect(byName(guardrails, 'policy:get_weather').observation.metadata).toMatchObject({
        toolRan: true,
        toolStatus: 'ok',
      });

      // The tool's execution is a child `tool` observation of its guardrail, only when it ran.
      const tools = spans.filter((s) => s.observation.type === 'tool');
      for (const t of tools) {
        expect(t.parentSpanId).toBe(byName(guardrails, t.name.replace('tool:', 'policy:')).spanId);
      }
      const flaky = byName(tools, 'tool:flaky');
      expect(flaky.observation.level).toBe('ERROR');
      expect(flaky.observation.statusMessage).toContain('upstream timeout');
      expect(byName(guardrails, 'policy:flaky').observation.metadata).toMatchObject({
        toolRan: true,
        toolStatus: 'error',
      });
      expect(tools.some((t) => t.name === 'tool:change_password')).toBe(false);

      const refund = byName(guardrails, 'policy:refund');
      if (user === alice) {
        expect(refund.observation.metadata).toMatchObject({
          outcome: 'approval_required',
          approval: { status: 'approved', approver: 'carol' },
          toolRan: true,
        });
        expect(refund.observation.level).toBe('DEFAULT');
        expect(tools.map((t) => t.name).sort()).toEqual([
          'tool:flaky',
          'tool:get_weather',
          'tool:login',
          'tool:refund',
        ]);
        expect(run.observation.metadata.decisions).toEqual({ allow: 3, deny: 1, approval_required: 1 });
        expect(run.observation.metadata.user).toMatchObject({ id: 'alice', attributes: { region: 'EU' } });
      } else {
        expect(refund.observation).toMatchObject({ level: 'WARNING' });
        expect(refund.observation.metadata).toMatchObject({ outcome: 'deny', toolRan: false });
        expect(run.observation.metadata.decisions).toEqual({ allow: 3, deny: 2, approval_required: 0 });
      }
      expect(run.observation.metadata).toMatchObject({ toolErrors: 1, runStatus: 'ok' });
    }

    // Arguments and user attributes only ever in redacted form.
    const wire = lf.receiver.allBodies();
    expect(wire).not.toContain('hunter2');
    expect(wire).not.toContain('sk-live-123');
    expect(wire).not.toContain('tok-secret-1');
    expect(wire).toContain('[REDACTED]');
    const login = lf.receiver.spans().find((s) => s.name === 'policy:login' && s.userId === 'alice');
    expect(login?.observation.input).toEqual({
      tool: 'login',
      args: { user: 'bob', password: '[REDACTED]', apiKey: '[REDACTED]' },
    });
  });

  it("arguments passed as the host's raw JSON text are parsed and redacted; text that is not JSON is never recorded", async () => {
    const enforcer = makeEnforcer();
    const raw = '{"user":"bob","password":"hunter2"}';
    const denied = runWithUser(bob, () => enforcer.decide({ tool: 'change_password', args: raw }));
    recordDecision(denied.decision, raw);
    const allowed = runWithUser(bob, () => enforcer.decide({ tool: 'login', args: raw }));
    await traceToolCall(allowed.decision, raw, async () => 'ok');
    // Cut off mid-object: core rejects it, so there is no snapshot, only the raw text.
    const broken = '{"city":"Paris","token":"tok-secret-1"';
    const rejected = runWithUser(bob, () => enforcer.decide({ tool: 'get_weather', args: broken }));
    expect(rejected.args).toBeUndefined();
    recordDecision(rejected.decision, broken);
    await lf.flush();

    const wire = lf.receiver.allBodies();
    expect(wire).not.toContain('hunter2');
    expect(wire).not.toContain('tok-secret-1');
    const spans = lf.receiver.spans();
    const redacted = { user: 'bob', password: '[REDACTED]' };
    expect(byName(spans, 'policy:change_password').observation.input).toEqual({
      tool: 'change_password',
      args: redacted,
    });
    expect(byName(spans, 'policy:login').observation.input).toEqual({ tool: 'login', args: redacted });
    expect(byName(spans, 'tool:login').observation.input).toEqual(redacted);
    expect(byName(spans, 'policy:get_weather').observation.input).toEqual({
      tool: 'get_weather',
      args: '[arguments that are not JSON]',
    });
  });

  it('reads the keys and URL from LANGFUSE_* environment variables like a user would set them', async () => {
    await lf.shutdown();
    lf = await setupLangfuseForTest({ configure: 'env', publicKey: 'pk-lf-env', secretKey: 'sk-lf-env' });
    await simulatedRun(makeEnforcer(), bob, standardCalls.slice(0, 1));
    await lf.flush();
    expect(lf.receiver.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('pk-lf-env:sk-lf-env').toString('base64')}`,
    );
    expect(
      lf.receiver
        .spans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['policy:get_weather', 'test:support-bot', 'tool:get_weather']);
  });

  it('a streamed run stays open until the stream is consumed, with tool calls made during consumption nested in it', async () => {
    const enforcer = makeEnforcer();
    async function* agentStream() {
      yield 'thinking';
      yield await callTool(enforcer, { tool: 'get_weather', args: { city: 'Rome' } });
      yield await callTool(enforcer, { tool: 'change_password', args: { password: 'hunter2' } });
    }
    const stream = runWithUser(alice, () => traceRunStream({ framework: 'test', agentName: 'streamer' }, agentStream));
    await lf.flush();
    // Created, not consumed: nothing has ended yet, so nothing is exported.
    expect(lf.receiver.spans()).toHaveLength(0);

    const chunks: string[] = [];
    // Consumed outside the user scope, as a host streaming to a client would.
    for await (const chunk of stream) {
      chunks.push(chunk as string);
      if (chunks.length === 2) {
        // Mid-stream: the first tool call is exported, the run is still open.
        await lf.flush();
        expect(
          lf.receiver
            .spans()
            .map((s) => s.name)
            .sort(),
        ).toEqual(['policy:get_weather', 'tool:get_weather']);
      }
    }
    await lf.flush();
    expect(chunks[1]).toBe('sunny in Rome');
    const spans = lf.receiver.spans();
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const run = byName(spans, 'test:streamer');
    expect(run.observation.metadata).toMatchObject({
      runStatus: 'ok',
      decisions: { allow: 1, deny: 1, approval_required: 0 },
    });
    for (const name of ['policy:get_weather', 'policy:change_password']) {
      const g = byName(spans, name);
      expect(g.parentSpanId).toBe(run.spanId);
      expect(g.userId).toBe('alice');
    }
  });

  it('a stream that fails marks the run ERROR; one abandoned early ends it as cancelled', async () => {
    async function* failing() {
      yield 1;
      throw new Error('model overloaded');
    }
    const failingRun = traceRunStream({ framework: 'test', name: 'failing' }, async () => failing());
    await expect(
      (async () => {
        for await (const _ of await failingRun);
      })(),
    ).rejects.toThrow('model overloaded');
    const abandoned = traceRunStream({ framework: 'test', name: 'abandoned' }, () => failing());
    for await (const _ of abandoned) break;
    await lf.flush();
    const spans = lf.receiver.spans();
    expect(byName(spans, 'failing').observation).toMatchObject({
      level: 'ERROR',
      statusMessage: 'Error: model overloaded',
    });
    expect(byName(spans, 'abandoned').observation.metadata.runStatus).toBe('cancelled');
    expect(byName(spans, 'abandoned').observation.level).toBeUndefined();
  });

  it('observes platform streams (ReadableStream, and a LangGraph-style stream that is its own iterator) without breaking them', async () => {
    // Like @langchain/core's IterableReadableStream: a ReadableStream whose async iterator is itself.
    class SelfIteratingStream<T> extends ReadableStream<T> {
      private reader: ReadableStreamDefaultReader<T> | undefined;
      async next(): Promise<IteratorResult<T>> {
        this.reader ??= this.getReader();
        const { done, value } = await this.reader.read();
        return done ? { done: true, value: undefined } : { done: false, value };
      }
      async return(): Promise<IteratorResult<T>> {
        await this.reader?.cancel();
        return { done: true, value: undefined };
      }
      async [Symbol.asyncDispose]() {
        await this.return();
      }
      override [Symbol.asyncIterator]() {
        return this as unknown as ReturnType<ReadableStream<T>[typeof Symbol.asyncIterator]>;
      }
    }
    const chunks = (items: string[]) =>
      new SelfIteratingStream<string>({
        start(controller) {
          for (const item of items) controller.enqueue(item);
          controller.close();
        },
      });
    const graphStream = await traceRunStream({ framework: 'test', name: 'graph' }, async () => chunks(['a', 'b']));
    expect(graphStream).toBeInstanceOf(ReadableStream);
    const seen: string[] = [];
    for await (const chunk of graphStream) seen.push(chunk);
    expect(seen).toEqual(['a', 'b']);

    const plain = traceRunStream({ framework: 'test', name: 'plain' }, () => ReadableStream.from(['x', 'y']));
    const viaReader: string[] = [];
    const reader = plain.getReader(); // methods still work on the proxy (bound to the real stream)
    for (let r = await reader.read(); !r.done; r = await reader.read()) viaReader.push(r.value);
    expect(viaReader).toEqual(['x', 'y']);

    await lf.flush();
    // Reading through getReader() is not observed, so 'plain' stays open: such hosts pass `until`.
    expect(lf.receiver.spans().map((s) => s.name)).toEqual(['graph']);
    expect(byName(lf.receiver.spans(), 'graph').observation.metadata.runStatus).toBe('ok');
  });

  it('with `until`, a streamed result that is not iterated ends the run when its completion promise settles', async () => {
    let complete!: () => void;
    const result = { completed: new Promise<void>((r) => (complete = r)), text: 'hello' };
    const returned = await traceRunStream({ framework: 'test', name: 'until-run' }, async () => result, {
      until: (r) => r.completed,
    });
    expect(returned).toBe(result);
    await lf.flush();
    expect(lf.receiver.spans()).toHaveLength(0);
    complete();
    await result.completed;
    await lf.flush();
    expect(lf.receiver.spans().map((s) => s.name)).toEqual(['until-run']);
  });

  it('nests under a framework span that is already active instead of opening a parallel trace', async () => {
    const enforcer = makeEnforcer();
    // What AI SDK telemetry does: a span from the `ai` tracer (exported by Langfuse's default filter).
    const framework = trace.getTracer('ai');
    await runWithUser(bob, () =>
      framework.startActiveSpan('ai.generateText', async (span) => {
        await simulatedRun(enforcer, bob, standardCalls.slice(0, 2));
        span.end();
      }),
    );
    await lf.flush();
    const traces = lf.receiver.traces();
    expect(traces.size).toBe(1);
    const spans = [...traces.values()][0] ?? [];
    const outer = byName(spans, 'ai.generateText');
    expect(outer.scope).toBe('ai');
    const run = byName(spans, 'test:support-bot');
    expect(run.parentSpanId).toBe(outer.spanId);
    // The framework's root names the trace; hexgate does not rename it.
    expect(run.traceName).toBeUndefined();
    expect(run.userId).toBe('bob');
    expect(byName(spans, 'policy:change_password').parentSpanId).toBe(run.spanId);
  });

  it('shadow mode: the tool runs, and the would-be denial is still a WARNING', async () => {
    const enforcer = makeEnforcer('shadow');
    const out = await simulatedRun(enforcer, bob, [{ tool: 'change_password', args: { password: 'hunter2' } }]);
    await lf.flush();
    expect(out).toEqual(['password changed']);
    const g = byName(lf.receiver.spans(), 'policy:change_password');
    expect(g.observation).toMatchObject({ level: 'WARNING' });
    expect(g.observation.statusMessage).toMatch(/^shadow mode: the policy would deny: /);
    expect(g.observation.metadata).toMatchObject({
      outcome: 'deny',
      effective: 'allow',
      mode: 'shadow',
      toolRan: true,
    });
  });

  it('traceToolCall fails closed on a decision that does not permit the tool, and records that it did not run', async () => {
    const enforcer = makeEnforcer();
    const { decision, args } = runWithUser(alice, () => enforcer.decide({ tool: 'refund', args: { amount: 5 } }));
    let ran = false;
    const attempt = () =>
      traceToolCall(decision, args, () => {
        ran = true;
      });
    expect(attempt).toThrow(PolicyDeniedError);
    // An approval that was not granted does not open the gate either.
    expect(() =>
      traceToolCall(decision, args, () => (ran = true), { approval: { status: 'rejected', approver: 'dan' } }),
    ).toThrow(PolicyDeniedError);
    expect(ran).toBe(false);
    await lf.flush();
    const guardrails = lf.receiver.spans().filter((s) => s.name === 'policy:refund');
    expect(guardrails).toHaveLength(2);
    expect(guardrails.map((g) => g.observation.metadata.toolStatus)).toEqual(['pending_approval', 'blocked']);
    for (const g of guardrails) {
      expect(g.observation).toMatchObject({ level: 'WARNING' });
      expect(g.observation.metadata.toolRan).toBe(false);
      // Outside a run, the guardrail is still attributed to the caller.
      expect([g.userId, g.sessionId]).toEqual(['alice', 'sess-alice']);
    }
  });

  it('recordDecision marks a pending approval, and a host-executed allow as delegated', async () => {
    const enforcer = makeEnforcer();
    await runWithUser(alice, () =>
      traceRun({ framework: 'test', name: 'approvals' }, async () => {
        const pending = enforcer.decide({ tool: 'refund', args: { amount: 7 } });
        recordDecision(pending.decision, pending.args, { approval: { status: 'requested' } });
        const allowed = enforcer.decide({ tool: 'get_weather', args: { city: 'Oslo' } });
        recordDecision(allowed.decision, allowed.args, { toolRan: true });
      }),
    );
    await lf.flush();
    const spans = lf.receiver.spans();
    expect(byName(spans, 'policy:refund').observation).toMatchObject({
      level: 'WARNING',
      metadata: { toolStatus: 'pending_approval', approval: { status: 'requested' } },
    });
    expect(byName(spans, 'policy:get_weather').observation).toMatchObject({
      level: 'DEFAULT',
      metadata: { toolStatus: 'delegated', toolRan: true },
    });
    expect(byName(spans, 'approvals').observation.metadata.decisions).toEqual({
      allow: 1,
      deny: 0,
      approval_required: 1,
    });
  });

  it('host results that signal failure (isError) mark the execution ERROR', async () => {
    const enforcer = makeEnforcer();
    const { decision, args } = enforcer.decide({ tool: 'get_weather', args: { city: 'Nowhere' } });
    const result = await traceToolCall(decision, args, async () => ({ isError: true, content: [] }), {
      isError: (r) => r.isError,
    });
    expect(result).toEqual({ isError: true, content: [] });
    await lf.flush();
    expect(byName(lf.receiver.spans(), 'tool:get_weather').observation.level).toBe('ERROR');
    expect(byName(lf.receiver.spans(), 'policy:get_weather').observation.metadata.toolStatus).toBe('error');
  });

  it('createTracingListener traces decisions and approval events of code that uses the enforcer directly', async () => {
    const listener = createTracingListener();
    const enforcer = createEnforcer({ policy, ...listener });
    const refund = enforcer.guard(async (a: { amount: number }) => `refunded ${a.amount}`, {
      tool: 'refund',
      approvalHandler: async () => true,
    });
    await expect(runWithUser(alice, () => refund({ amount: 9 }))).resolves.toBe('refunded 9');
    await expect(runWithUser(bob, () => refund({ amount: 9 }))).rejects.toThrow(PolicyDeniedError);
    await lf.flush();
    const spans = lf.receiver.spans();
    const decisions = spans.filter((s) => s.name === 'policy:refund');
    expect(decisions.map((d) => [d.userId, d.observation.metadata.outcome, d.observation.metadata.toolStatus])).toEqual(
      [
        ['alice', 'approval_required', 'unknown'],
        ['bob', 'deny', 'unknown'],
      ],
    );
    expect(spans.filter((s) => s.observation.type === 'event').map((s) => s.name)).toEqual([
      'approval:requested',
      'approval:approved',
    ]);
    for (const event of spans.filter((s) => s.observation.type === 'event')) {
      expect(event.userId).toBe('alice');
      expect(event.observation.metadata).toMatchObject({
        tool: 'refund',
        decisionId: decisions[0]?.observation.metadata.decisionId,
      });
    }
  });
});

/**
 * End to end through Langfuse's real LangfuseSpanProcessor and OTLP exporter,
 * against a local receiver: assertions are on what actually went over the wire.
 */
import { trace } from '@opentelemetry/api';
import { createEnforcer, decisionText, PolicyDeniedError, runWithUser } from '@hexgate/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  callTool,
  executions,
  makeEnforcer,
  policy,
  simulatedRun,
  standardCalls,
} from './__fixtures__/simulated-agent.ts';
import { createTracingListener, isTracingEnabled, recordDecision, traceRun, traceRunStream, traceToolCall } from './index.ts';
import { type LangfuseTestSetup, type ReceivedSpan, setupLangfuseForTest } from './testing/index.ts';

const alice = { id: 'alice', roles: ['support'], sessionId: 'sess-alice', attributes: { region: 'EU', token: 'tok-secret-1' } };
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
        expect(tools.map((t) => t.name).sort()).toEqual(['tool:flaky', 'tool:get_weather', 'tool:login', 'tool:refund']);
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

  it('reads the keys and URL from LANGFUSE_* environment variables like a user would set them', async () => {
    await lf.shutdown();
    lf = await setupLangfuseForTest({ configure: 'env', publicKey: 'pk-lf-env', secretKey: 'sk-lf-env' });
    await simulatedRun(makeEnforcer(), bob, standardCalls.slice(0, 1));
    await lf.flush();
    expect(lf.receiver.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('pk-lf-env:sk-lf-env').toString('base64')}`,
    );
    expect(lf.receiver.spans().map((s) => s.name).sort()).toEqual(['policy:get_weather', 'test:support-bot', 'tool:get_weather']);
  });
});

/**
 * Tracing must never change what a call does: when the tracer itself throws,
 * runs and allowed tool calls go ahead untraced (one process warning), and a
 * decision that does not permit the tool still never runs it.
 */
import { PolicyDeniedError, runWithUser } from '@hexgate/core';
import { setLangfuseTracerProvider } from '@langfuse/tracing';
import { context, propagation, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { executions, makeEnforcer, simulatedRun, standardCalls } from './__fixtures__/simulated-agent.ts';
import { isTracingEnabled, recordDecision, traceRun, traceToolCall } from './index.ts';

const broken: TracerProvider = {
  getTracer: () =>
    ({
      startSpan: () => {
        throw new Error('exporter exploded');
      },
      startActiveSpan: () => {
        throw new Error('exporter exploded');
      },
    }) as unknown as Tracer,
};

afterEach(() => {
  setLangfuseTracerProvider(null);
  vi.restoreAllMocks();
});

it('a tracer that throws changes nothing: same results, denials still blocked, one warning per kind', async () => {
  const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  setLangfuseTracerProvider(broken);
  expect(isTracingEnabled()).toBe(true);

  const out = await simulatedRun(makeEnforcer(), { id: 'alice', roles: ['support'] }, standardCalls);
  expect(out).toEqual([
    'sunny in Paris',
    expect.stringMatching(/^\[policy_denied\] Tool 'change_password'/),
    'logged in bob',
    'refunded 50',
    '[tool_error] upstream timeout',
  ]);
  expect(traceRun({ framework: 'test' }, () => 42)).toBe(42);

  const enforcer = makeEnforcer();
  const denied = runWithUser({ id: 'bob' }, () => enforcer.decide({ tool: 'change_password', args: {} }));
  let ran = false;
  expect(() => traceToolCall(denied.decision, denied.args, () => (ran = true))).toThrow(PolicyDeniedError);
  expect(ran).toBe(false);
  expect(() => recordDecision(denied.decision, denied.args)).not.toThrow();

  // (Nothing registered a context manager either: that is a warning of its own.)
  const warnings = warn.mock.calls.map((c) => String(c[0])).filter((m) => !m.includes('context manager'));
  expect(warnings.filter((m) => m.includes('could not start a run observation'))).toHaveLength(1);
  expect(warnings.filter((m) => m.includes('could not start a tool observation'))).toHaveLength(1);
  expect(warnings.filter((m) => m.includes('recording a decision failed'))).toHaveLength(1);
  expect(warnings).toHaveLength(3);
  for (const m of warnings) expect(m).toContain('exporter exploded');
});

describe('a registered provider whose span processor or exporter throws', () => {
  const failing = {
    onStart: { onStart: () => boom('onStart'), onEnd: () => {} },
    onEnd: { onStart: () => {}, onEnd: () => boom('onEnd') },
    exporter: undefined,
  } as const;
  function boom(where: string): never {
    throw new Error(`processor ${where} exploded`);
  }

  it.each(Object.keys(failing))(
    '%s: every run gives the same outputs and decisions as without tracing',
    async (which) => {
      const untraced = await observe();
      const processor: SpanProcessor =
        which === 'exporter'
          ? new SimpleSpanProcessor({
              export: () => boom('export'),
              shutdown: async () => {},
            })
          : { ...failing[which as 'onStart' | 'onEnd'], forceFlush: async () => {}, shutdown: async () => {} };
      const provider = new NodeTracerProvider({ spanProcessors: [processor] });
      provider.register();
      vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
      try {
        expect(isTracingEnabled()).toBe(true);
        expect(await observe()).toEqual(untraced);
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  );
});

/** Outputs, decisions and executions of the standard runs for two users (decision ids and times left out). */
async function observe() {
  executions.length = 0;
  const enforcer = makeEnforcer();
  const outputs = [
    await simulatedRun(enforcer, { id: 'alice', roles: ['support'] }, standardCalls),
    await simulatedRun(enforcer, { id: 'bob' }, standardCalls),
  ];
  const decisions = enforcer.decisions.map(({ decision: d }) => [d.tool, d.userId, d.outcome, d.effective, d.reason]);
  return { outputs, decisions, executions: [...executions] };
}

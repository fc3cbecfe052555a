/**
 * Tracing is on only when a tracer provider is registered. Without one,
 * nothing is exported (even with Langfuse configured but not registered),
 * `traceHexgateRun` is a plain call, and every decision, result and
 * execution is what a traced run gives.
 */
import { tracingChannel } from 'node:diagnostics_channel';
import { runWithUser } from '@hexgate/core';
import { isTracingEnabled } from '@hexgate/tracing';
import { type LangfuseTestSetup, setupLangfuseForTest } from '@hexgate/tracing/testing';
import { AI_SDK_TELEMETRY_TRACING_CHANNEL, generateText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerApproval, type Kind } from './__fixtures__/chat-turn.ts';
import { scriptedModel, text, toolResultsSent } from './__fixtures__/scripted-model.ts';
import { alice, mixedTurn, prompt, tracedDesk, tracedTurn } from './__fixtures__/traced-desk.ts';
import { traceHexgateRun } from './index.ts';

// Langfuse set up completely, but its provider is never registered: tracing is off.
let off: LangfuseTestSetup;
beforeAll(async () => {
  off = await setupLangfuseForTest({ register: false });
});
afterAll(() => off.shutdown());

/** Everything observable about a turn and its approved resume, except tracing. */
async function observe(kind: Kind) {
  const desk = tracedDesk();
  const model = scriptedModel(mixedTurn, text('done'), text('refunded'));
  const first = await runWithUser(alice, () => tracedTurn(kind, desk, model, [prompt]));
  const resumed = await runWithUser(alice, () =>
    tracedTurn(kind, desk, model, answerApproval(first, true, 'ok by lead')),
  );
  return {
    texts: [first.text, resumed.text],
    content: first.content.map((p) => ({ ...p, approvalId: undefined })),
    toModel: [toolResultsSent(model, 1), toolResultsSent(model, 2)],
    executions: [...desk.executions].sort(),
    decisions: desk.enforcer.decisions.map(({ decision: d }) => [
      d.tool,
      d.userId,
      d.outcome,
      d.effective,
      d.reason,
      d.decidingRole,
      [...d.violations],
    ]),
    approvals: desk.enforcer.approvals.map((a) => [a.status, a.decision.tool, a.reason, a.argsHash]),
  };
}

describe('no tracer provider registered', () => {
  it('traceHexgateRun is a plain call: the same object back, no SDK channel subscription', async () => {
    expect(isTracingEnabled()).toBe(false);
    const channel = tracingChannel(AI_SDK_TELEMETRY_TRACING_CHANNEL);
    const model = scriptedModel(text('hi'));
    let subscribed: boolean | undefined;
    const call = generateText({ model, prompt: 'x' });
    const returned = traceHexgateRun({ agentName: 'a' }, () => {
      subscribed = channel.hasSubscribers;
      return call;
    });
    expect(returned).toBe(call);
    expect(subscribed).toBe(false);
    expect((await returned).text).toBe('hi');
  });

  it.each(['generate', 'stream'] as const)(
    '%sText: exports nothing, and decides, runs and answers exactly as a traced run',
    async (kind) => {
      expect(isTracingEnabled()).toBe(false);
      const untraced = await observe(kind);
      await off.flush();
      expect(off.receiver.requests).toHaveLength(0);
      expect(untraced.executions).toEqual(['connect_db', 'get_order', 'refund_order']);

      const lf = await setupLangfuseForTest();
      try {
        expect(isTracingEnabled()).toBe(true);
        const traced = await observe(kind);
        await lf.flush();
        expect(lf.receiver.spans().length).toBeGreaterThan(0);
        expect(traced).toEqual(untraced);
      } finally {
        await lf.shutdown();
      }
      expect(isTracingEnabled()).toBe(false);
    },
  );
});

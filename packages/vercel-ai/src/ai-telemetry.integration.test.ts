/**
 * With ai@7's own telemetry exported to Langfuse (`registerTelemetry(new
 * LangfuseVercelAiSdkIntegration())`), hexgate's observations join the SDK's
 * spans in one trace instead of starting a parallel one.
 */
import { runWithUser } from '@hexgate/core';
import { type LangfuseTestSetup, type ReceivedSpan, setupLangfuseForTest } from '@hexgate/tracing/testing';
import { LangfuseVercelAiSdkIntegration } from '@langfuse/vercel-ai-sdk';
import { generateText, registerTelemetry, stepCountIs, streamText } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scriptedModel, text } from './__fixtures__/scripted-model.ts';
import { alice, mixedTurn, prompt, tracedDesk, tracedTurn } from './__fixtures__/traced-desk.ts';

// Global, as an app does it at startup. Its tracer binds to the provider
// registered first, so one provider serves the whole file.
registerTelemetry(new LangfuseVercelAiSdkIntegration());

let lf: LangfuseTestSetup;
beforeAll(async () => {
  lf = await setupLangfuseForTest();
});
afterAll(() => lf.shutdown());
beforeEach(() => lf.receiver.clear());

/** Flushes until a span of each name has arrived (runs end a few microtasks after their call returns). */
async function exported(names: string[]): Promise<ReceivedSpan[]> {
  const arrived = () => names.every((name) => lf.receiver.spans().some((s) => s.name === name));
  for (let attempt = 0; attempt < 50 && !arrived(); attempt++) {
    await lf.flush();
    if (!arrived()) await new Promise((resolve) => setImmediate(resolve));
  }
  expect(arrived(), `spans ${names.join(', ')} exported`).toBe(true);
  return lf.receiver.spans();
}

function only(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `exactly one span named ${name}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

describe.each(['generate', 'stream'] as const)('ai@7 telemetry + %sText', (kind) => {
  it('in traceHexgateRun: one trace; the SDK run nests under it, each executed call under its execute_tool', async () => {
    const desk = tracedDesk();
    const model = scriptedModel(mixedTurn, text('done'));
    await runWithUser(alice, () => tracedTurn(kind, desk, model, [prompt]));
    const spans = await exported(['vercel-ai:support-bot', 'invoke_agent mock-model-id']);

    expect(lf.receiver.traces().size).toBe(1);
    const run = only(spans, 'vercel-ai:support-bot');
    expect(run.parentSpanId).toBeUndefined();
    expect(run.userId).toBe('alice');
    const sdkRun = only(spans, 'invoke_agent mock-model-id');
    expect(sdkRun.scope).toBe('gen_ai');
    expect(sdkRun.parentSpanId).toBe(run.spanId);

    for (const tool of ['get_order', 'connect_db']) {
      const guardrail = only(spans, `policy:${tool}`);
      expect(guardrail.parentSpanId).toBe(only(spans, `execute_tool ${tool}`).spanId);
      expect(only(spans, `tool:${tool}`).parentSpanId).toBe(guardrail.spanId);
    }
    // Decided in the approval hook, outside any SDK span: children of the run.
    for (const tool of ['delete_account', 'refund_order']) {
      expect(only(spans, `policy:${tool}`).parentSpanId).toBe(run.spanId);
    }
  });

  it('without traceHexgateRun: executed calls still nest in the SDK trace, hook decisions are traces of their own', async () => {
    const desk = tracedDesk();
    const model = scriptedModel(mixedTurn, text('done'));
    const options = { model, ...desk.settings, messages: [prompt], stopWhen: stepCountIs(4) };
    await runWithUser(alice, async () => {
      if (kind === 'generate') await generateText(options);
      else await streamText(options).consumeStream();
    });
    const spans = await exported(['invoke_agent mock-model-id', 'policy:delete_account', 'policy:get_order']);

    const sdkRun = only(spans, 'invoke_agent mock-model-id');
    expect(only(spans, 'policy:get_order').traceId).toBe(sdkRun.traceId);
    expect(only(spans, 'policy:get_order').parentSpanId).toBe(only(spans, 'execute_tool get_order').spanId);
    for (const tool of ['delete_account', 'refund_order']) {
      const guardrail = only(spans, `policy:${tool}`);
      expect(guardrail.traceId).not.toBe(sdkRun.traceId);
      expect(guardrail.parentSpanId).toBeUndefined();
      expect(guardrail.userId).toBe('alice');
      expect(guardrail.sessionId).toBe('sess-alice');
    }
    expect(lf.receiver.traces().size).toBe(3);
  });
});

/**
 * Langfuse's `setLangfuseTracerProvider` (an isolated provider, nothing
 * registered globally) also turns hexgate tracing on. Without a context
 * manager, observations cannot nest: hexgate says so once instead of failing.
 */
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { setLangfuseTracerProvider } from '@langfuse/tracing';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterEach, expect, it, vi } from 'vitest';
import { makeEnforcer, simulatedRun, standardCalls } from './__fixtures__/simulated-agent.ts';
import { isTracingEnabled } from './index.ts';
import { startOtlpReceiver } from './testing/index.ts';

afterEach(() => {
  setLangfuseTracerProvider(null);
  vi.restoreAllMocks();
});

it('an isolated Langfuse provider enables tracing; a missing context manager is one warning, not a failure', async () => {
  const receiver = await startOtlpReceiver();
  const provider = new NodeTracerProvider({
    spanProcessors: [new LangfuseSpanProcessor({ publicKey: 'pk', secretKey: 'sk', baseUrl: receiver.url })],
  });
  const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    expect(isTracingEnabled()).toBe(false);
    setLangfuseTracerProvider(provider);
    expect(isTracingEnabled()).toBe(true);

    const out = await simulatedRun(makeEnforcer(), { id: 'carol', sessionId: 's-c' }, standardCalls.slice(0, 2));
    expect(out[0]).toBe('sunny in Paris');
    await provider.forceFlush();

    const names = receiver.spans().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['test:support-bot', 'policy:get_weather', 'policy:change_password']));
    // No context manager: the guardrails could not find their run and became traces of their own,
    // still attributed to the user through the decision.
    const guardrail = receiver.spans().find((s) => s.name === 'policy:change_password');
    expect(guardrail?.parentSpanId).toBeUndefined();
    expect(guardrail?.userId).toBe('carol');
    const warnings = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('context manager'));
    expect(warnings).toHaveLength(1);
  } finally {
    await provider.shutdown();
    await receiver.close();
  }
});

/**
 * What hexgate tracing costs per call, printed as numbers (not a test).
 * Run: pnpm --filter @hexgate/tracing bench
 *
 * 1. No tracer provider registered: traceRun/traceToolCall must be a plain
 *    call plus one cheap check (the "nothing measurable" requirement).
 * 2. For comparison, the same calls with Langfuse registered, exporting to
 *    an in-memory exporter (span work only, no network).
 */

import { createEnforcer, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { isTracingEnabled, traceRun, traceToolCall } from './index.ts';

const enforcer = createEnforcer({
  policy: testPolicy(`
    roles:
      default:
        tools:
          get_weather: { mode: allow }
  `),
});
const user = { id: 'alice', roles: ['support'], sessionId: 's-1' };
const { decision, args } = runWithUser(user, () => enforcer.decide({ tool: 'get_weather', args: { city: 'Paris' } }));
const tool = async () => 'sunny';
const info = { framework: 'bench', agentName: 'bench-agent', user };

async function measure(label: string, iterations: number, once: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(iterations, 5_000); i++) await once(); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await once();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${label.padEnd(58)} ${ns.toFixed(0).padStart(8)} ns/op`);
  return ns;
}

// The check alone: an `await` per iteration would cost more than the check itself.
// Returns how many calls said true, so the calls cannot be optimised away.
function measureSync(label: string, iterations: number, once: () => boolean): number {
  let on = 0;
  for (let i = 0; i < 100_000; i++) if (once()) on++; // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (once()) on++;
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${label.padEnd(58)} ${ns.toFixed(1).padStart(8)} ns/op`);
  return on;
}

async function main() {
  const n = Number(process.env.BENCH_ITERATIONS ?? 200_000);
  console.log(`node ${process.version}, ${n} iterations per line\n`);

  console.log('-- no tracer provider registered --');
  console.log(`isTracingEnabled() = ${isTracingEnabled()}`);
  measureSync('isTracingEnabled() (synchronous, no await)', n * 10, isTracingEnabled);
  const direct = await measure('baseline: await tool()', n, () => tool());
  const tc = await measure('traceToolCall(decision, args, tool)', n, () => traceToolCall(decision, args, tool));
  const tr = await measure('traceRun(info, tool)', n, () => traceRun(info, tool));
  console.log(
    `overhead without a provider: traceToolCall +${(tc - direct).toFixed(0)} ns, traceRun +${(tr - direct).toFixed(0)} ns per call`,
  );

  console.log('\n-- Langfuse registered (in-memory exporter, no network) --');
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    spanProcessors: [new LangfuseSpanProcessor({ exporter, exportMode: 'immediate' })],
  });
  provider.register();
  console.log(`isTracingEnabled() = ${isTracingEnabled()}`);
  const m = Math.max(1, Math.floor(n / 20));
  const clear = (fn: () => unknown) => async () => {
    await fn();
    if (exporter.getFinishedSpans().length > 10_000) exporter.reset();
  };
  const tcOn = await measure(
    'traceToolCall (2 observations)',
    m,
    clear(() => traceToolCall(decision, args, tool)),
  );
  const trOn = await measure(
    'traceRun + 1 traceToolCall (3 observations)',
    m,
    clear(() => traceRun(info, () => traceToolCall(decision, args, tool))),
  );
  console.log(
    `with Langfuse: ~${(tcOn / 1000).toFixed(1)} µs per traced tool call, ~${(trOn / 1000).toFixed(1)} µs per run with one call`,
  );
  await provider.shutdown();
}

await main();

/**
 * One traced run per graph call (`invoke`, `stream`, `streamEvents`) through
 * @hexgate/tracing. Without a registered tracer provider this is a plain call
 * and returns exactly what the graph returned.
 *
 * It must be called where the run is CREATED (inside `runWithUser`): LangGraph
 * captures the async context, and with it the active OpenTelemetry span, when
 * a run or stream starts, so every tool call of the run nests under it even
 * when the stream is read later from another request's scope.
 */
import type { User } from '@hexgate/core';
import { isTracingEnabled, type RunInfo, traceRun, traceRunStream } from '@hexgate/tracing';

export type RunMethod = 'invoke' | 'stream' | 'streamEvents';

export interface GraphRunInfo {
  readonly method: RunMethod;
  readonly user: User | undefined;
  /** The agent name the run's decisions report, if any (already falls back to `graphName`). */
  readonly agentName: string | undefined;
  /** The compiled graph's own `name`, if it has one. */
  readonly graphName: string | undefined;
}

export function traceGraphRun<R>(run: GraphRunInfo, start: () => R): R {
  // Checked first so an untraced run allocates nothing here.
  if (!isTracingEnabled()) return start();
  const info: RunInfo = {
    framework: 'langgraph',
    ...(run.agentName ? { agentName: run.agentName } : {}),
    ...(run.user ? { user: run.user } : {}),
    metadata: { method: run.method, ...(run.graphName ? { graphName: run.graphName } : {}) },
  };
  if (run.method === 'invoke') return traceRun(info, start);
  return traceRunStream(info, start, { until: streamSettled });
}

/**
 * `stream()` and `streamEvents()` v1/v2 resolve to an IterableReadableStream:
 * undefined here, so the run ends when its async iteration ends. A v3
 * `GraphRunStream` is read through many projections (`output`, `values`,
 * `messages`...), not only by iteration; it runs on its own and its `output`
 * promise settles when the run is over (rejects when it fails).
 */
function streamSettled(result: unknown): PromiseLike<unknown> | undefined {
  if (
    typeof result !== 'object' ||
    result === null ||
    typeof (result as { getReader?: unknown }).getReader === 'function'
  ) {
    return undefined;
  }
  const output = (result as { output?: unknown }).output;
  return typeof (output as PromiseLike<unknown> | undefined)?.then === 'function'
    ? (output as PromiseLike<unknown>)
    : undefined;
}

/**
 * `traceHexgateRun(options, fn)`: one Langfuse run observation around an AI
 * SDK call (`generateText`, `streamText`, `agent.generate`, `agent.stream`,
 * `createAgentUIStreamResponse`, ...), carrying the user, the session and the
 * roles, so the decisions of the gated tools land in one trace.
 *
 * Why a wrapper: the adapter gates tools and hooks but does not own the call.
 * The run must be the active OpenTelemetry context when the SDK call starts,
 * because the SDK captures the async context there (the stream, the approval
 * hook and every tool execution inherit it). The model middleware cannot do
 * it: it sees each model call (a step), not the run, and tools and the
 * approval hook run outside it.
 *
 * The run ends when `fn` has returned (or its promise settled) and every SDK
 * call it started is over, as the SDK reports on its `ai:telemetry` channel:
 * for `streamText`, when its stream was consumed, failed or aborted.
 * With no tracer provider registered it is a plain `fn()` call.
 */
import type { Enforcer, User } from '@hexgate/core';
import { isTracingEnabled, traceRunStream } from '@hexgate/tracing';
import { openOperationScope } from './sdk-operations.ts';

export interface HexgateRunOptions {
  /** Names the run after `enforcer.agentName` when `agentName` is not given. */
  readonly enforcer?: Enforcer;
  readonly agentName?: string;
  /** Whose run this is. Default: the user bound with `runWithUser`. */
  readonly user?: User;
  /** Run observation name (and trace name for a new trace). Default `vercel-ai:<agentName>`. */
  readonly name?: string;
  /** Extra metadata for the run observation (redacted). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export function traceHexgateRun<R>(options: HexgateRunOptions, fn: () => R): R {
  if (!isTracingEnabled()) return fn();
  const agentName = options.agentName ?? options.enforcer?.agentName;
  const info = {
    framework: 'vercel-ai',
    ...(agentName ? { agentName } : {}),
    ...(options.user ? { user: options.user } : {}),
    ...(options.name ? { name: options.name } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
  const operations = openOperationScope();
  // Settles when the run is over: `fn`'s result is there and the SDK calls it
  // started have ended. Computed here, not in `until`, so the scope is closed
  // even if the tracer could not open the run.
  let over: Promise<void> = Promise.resolve();
  const run = () => {
    const result = operations.run(fn);
    over = isThenable(result)
      ? Promise.resolve(result).then(
          () => operations.settled(),
          (error: unknown) => {
            operations.close();
            throw error;
          },
        )
      : operations.settled();
    // Observed through `until`; a rejected `fn` already ends the run as an error.
    over.catch(() => {});
    return result;
  };
  try {
    return traceRunStream(info, run, { until: () => over });
  } catch (error) {
    operations.close();
    throw error;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * One Langfuse observation per run (an agent run, a graph invocation, a
 * generateText/streamText call, an MCP tool call), carrying the user, the
 * session and the user's roles, so every policy decision made during the run
 * lands in the same trace.
 *
 * Nesting: the observation is started in the active OpenTelemetry context.
 * When a framework's own instrumentation already has a span open (AI SDK
 * telemetry, a LangChain callback run, an outer Langfuse observation, or
 * another hexgate run), the hexgate run becomes a child of it in the same
 * trace; only when nothing is active does it open a new trace (and name it).
 */

import { tryGetUser, type User } from '@hexgate/core';
import { type LangfuseAgent, propagateAttributes, startActiveObservation } from '@langfuse/tracing';
import { type Context, context, isSpanContextValid, trace } from '@opentelemetry/api';
import { checkContextManager, isTracingEnabled } from './enabled.ts';
import { recordable } from './recorded-args.ts';
import { newRunState, type RunState, rememberArgs, withRunState } from './run-state.ts';
import { errorMessage, once, safely, warnOnce } from './safe.ts';
import { secretValues } from './secret-values.ts';
import { afterResult, isAsyncIterable, isPromiseLike, observeIteration, type Settled } from './settle.ts';

export interface RunInfo {
  /** The adapter or host: 'openai-agents', 'langgraph', 'vercel-ai', 'mcp', or your own. */
  readonly framework: string;
  readonly agentName?: string;
  /** Observation name (and trace name for a new trace). Default `<framework>:<agentName ?? 'run'>`. */
  readonly name?: string;
  /** Whose run this is. Default: the user in hexgate scope (`tryGetUser()`). */
  readonly user?: User;
  /** Recorded, redacted, as the run's input. Nothing is recorded when omitted. */
  readonly input?: unknown;
  /** Extra metadata for the run observation (redacted). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

export interface TraceRunStreamOptions<S> {
  /**
   * A promise that settles when the run is over, for results that are not
   * consumed as async iterables: `(r) => r.completed` (OpenAI Agents streamed
   * run), `(r) => r.response` (AI SDK streamText). Without it the result must
   * be an async iterable, and the run ends when iteration ends.
   */
  readonly until?: (result: S) => PromiseLike<unknown> | undefined;
}

/**
 * Runs `fn` as one traced run. The observation ends when `fn` returns, or when
 * its promise settles (level ERROR if it rejects). Returns exactly what `fn`
 * returns. With no tracer provider registered this is a plain `fn()` call.
 */
export function traceRun<R>(info: RunInfo, fn: () => R): R {
  return startRun(info, fn, (result, end) => afterResult(result, end));
}

/**
 * Like `traceRun`, for runs that return a stream (directly or via a promise):
 * the observation stays open until the stream is consumed, fails or is
 * abandoned (`until` or async iteration, see TraceRunStreamOptions). Tool
 * calls made while the stream is consumed nest under the run. The value
 * returned is the original (with `until`) or a transparent proxy of it that
 * observes async iteration.
 */
export function traceRunStream<R>(info: RunInfo, fn: () => R, options: TraceRunStreamOptions<Awaited<R>> = {}): R {
  return startRun(info, fn, (result, end, ctx) => {
    if (!isPromiseLike(result)) return settleStream(result as Awaited<R>, end, ctx, options) as R;
    return Promise.resolve(result).then(
      (value) => settleStream(value as Awaited<R>, end, ctx, options),
      (error: unknown) => {
        end({ status: 'error', error });
        throw error;
      },
    ) as R;
  });
}

function settleStream<S>(value: S, end: (s: Settled) => void, ctx: Context, options: TraceRunStreamOptions<S>): S {
  if (options.until) {
    let pending: PromiseLike<unknown> | undefined;
    try {
      pending = options.until(value);
    } catch (error) {
      end({ status: 'error', error });
      return value;
    }
    if (pending) {
      Promise.resolve(pending).then(
        () => end({ status: 'ok' }),
        (error: unknown) => end({ status: 'error', error }),
      );
      return value;
    }
  }
  if (isAsyncIterable(value)) return observeIteration(value, ctx, end) as S;
  end({ status: 'ok' });
  return value;
}

type Settle<R> = (result: R, end: (settled: Settled) => void, ctx: Context) => R;

function startRun<R>(info: RunInfo, fn: () => R, settle: Settle<R>): R {
  if (!isTracingEnabled()) return fn();
  let entered = false;
  try {
    checkContextManager();
    const user = info.user ?? tryGetUser();
    const name = info.name ?? `${info.framework}:${info.agentName ?? 'run'}`;
    return propagateAttributes(traceAttributes(info, user, name), () =>
      startActiveObservation(
        name,
        (run) => {
          entered = true;
          const state = newRunState();
          // Their secrets are cut out of the run's error message too.
          rememberArgs(state, info.input);
          rememberArgs(state, user?.attributes);
          safely('recording the run', () => run.update(startAttributes(info, user)));
          const end = once((settled: Settled) => safely('ending the run', () => endRun(run, state, settled)));
          const ctx = withRunState(context.active(), state);
          return context.with(ctx, () => {
            let result: R;
            try {
              result = fn();
            } catch (error) {
              end({ status: 'error', error });
              throw error;
            }
            return settle(result, end, ctx);
          });
        },
        { asType: 'agent', endOnExit: false },
      ),
    );
  } catch (error) {
    if (entered) throw error;
    // The tracer itself failed before the run started: run untraced.
    warnOnce('run-failed', `could not start a run observation: ${errorMessage(error)}`);
    return fn();
  }
}

function traceAttributes(info: RunInfo, user: User | undefined, name: string) {
  const metadata: Record<string, string> = { framework: clip(info.framework) };
  if (info.agentName) metadata.agent = clip(info.agentName);
  if (user?.roles?.length) metadata.roles = clip(user.roles.join(','));
  return {
    ...(user?.id ? { userId: clip(user.id) } : {}),
    ...(user?.sessionId ? { sessionId: clip(user.sessionId) } : {}),
    metadata,
    tags: ['hexgate'],
    // Name the trace only when this run starts it; inside a framework's run
    // the framework's root names the trace.
    ...(hasActiveSpan() ? {} : { traceName: clip(name) }),
  };
}

function startAttributes(info: RunInfo, user: User | undefined) {
  return {
    ...(info.input !== undefined ? { input: recordable(info.input) } : {}),
    metadata: {
      framework: info.framework,
      ...(info.agentName ? { agentName: info.agentName } : {}),
      user: user
        ? {
            id: user.id,
            roles: [...(user.roles ?? [])],
            ...(user.sessionId ? { sessionId: user.sessionId } : {}),
            ...(user.attributes ? { attributes: recordable(user.attributes) } : {}),
          }
        : null,
      ...(info.metadata ? (recordable(info.metadata) as Record<string, unknown>) : {}),
    },
  };
}

function endRun(run: LangfuseAgent, state: RunState, settled: Settled): void {
  run.update({
    metadata: {
      decisions: { ...state.decisions },
      toolsRan: state.toolsRan,
      toolErrors: state.toolErrors,
      runStatus: settled.status,
    },
    ...(settled.status === 'error'
      ? { level: 'ERROR' as const, statusMessage: errorMessage(settled.error, runSecrets(state)) }
      : {}),
  });
  run.end();
}

function runSecrets(state: RunState): Set<string> {
  const secrets = new Set<string>();
  for (const args of state.args) for (const secret of secretValues(args)) secrets.add(secret);
  return secrets;
}

function hasActiveSpan(): boolean {
  const span = trace.getActiveSpan();
  return span !== undefined && isSpanContextValid(span.spanContext());
}

// Langfuse drops propagated values over 200 characters; keep a prefix instead.
function clip(value: string): string {
  return value.length > 200 ? value.slice(0, 200) : value;
}

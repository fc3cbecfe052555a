/**
 * When is an AI SDK call over? For `generateText` the promise says so, but
 * `streamText` returns at once and runs while its stream is read, and its
 * completion getters (`text`, `finishReason`, ...) start consuming the stream
 * themselves in ai@7. ai@7 publishes every `generateText` / `streamText` call
 * on the `ai:telemetry` diagnostics tracing channel, the documented hook for
 * observability providers: `start` when the call begins, `asyncEnd` when it is
 * over (stream consumed, failed or aborted). A scope opened here collects the
 * calls that start inside it, so a traced run can end with the last of them.
 *
 * We subscribe only while a traced run is waiting (a subscriber makes the SDK
 * do extra bookkeeping for every call in the process), and only when tracing
 * is on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { tracingChannel } from 'node:diagnostics_channel';
import { AI_SDK_TELEMETRY_TRACING_CHANNEL } from 'ai';

/** The SDK calls that started in one scope and have not ended. */
export interface OperationScope {
  /** Calls that started in this scope, ended or not. */
  seen: number;
  pending: number;
  /** The first failure of a call in this scope. */
  failure: { readonly error: unknown } | undefined;
  /** No longer collecting: calls that start now belong to nobody. */
  closed: boolean;
  onIdle: (() => void) | undefined;
}

interface ChannelMessage {
  readonly type?: unknown;
  readonly error?: unknown;
}

// Only the calls a run is made of; steps, model calls and tool executions
// nest inside them and end before them.
const RUN_OPERATIONS = new Set<unknown>(['generateText', 'streamText']);

const scopes = new AsyncLocalStorage<OperationScope>();
const owners = new WeakMap<object, OperationScope>();

const ignore = () => {};

const subscribers = {
  end: ignore,
  asyncStart: ignore,
  start(message: unknown) {
    const scope = scopes.getStore();
    const m = message as ChannelMessage | null;
    if (!scope || scope.closed || m === null || typeof m !== 'object' || !RUN_OPERATIONS.has(m.type)) return;
    owners.set(m, scope);
    scope.seen++;
    scope.pending++;
  },
  error(message: unknown) {
    const scope = owners.get(message as object);
    if (scope && !scope.failure) scope.failure = { error: (message as ChannelMessage).error };
  },
  asyncEnd(message: unknown) {
    const scope = owners.get(message as object);
    if (!scope) return;
    owners.delete(message as object);
    scope.pending--;
    if (scope.pending === 0) scope.onIdle?.();
  },
};

let channel: ReturnType<typeof tracingChannel> | undefined;
let watchers = 0;

function watch(): void {
  if (watchers++ === 0) {
    channel ??= tracingChannel(AI_SDK_TELEMETRY_TRACING_CHANNEL);
    channel.subscribe(subscribers);
  }
}

function unwatch(): void {
  if (--watchers === 0) channel?.unsubscribe(subscribers);
}

/**
 * Opens a scope (and subscribes to the SDK's channel until `close`). Run the
 * code that calls the SDK with `scope.run(fn)`; `settled()` resolves once the
 * calls it started are over, and rejects with the first failure.
 */
export function openOperationScope() {
  const scope: OperationScope = { seen: 0, pending: 0, failure: undefined, closed: false, onIdle: undefined };
  watch();
  const close = () => {
    if (scope.closed) return;
    scope.closed = true;
    scope.onIdle = undefined;
    unwatch();
  };
  return {
    run: <R>(fn: () => R): R => scopes.run(scope, fn),
    close,
    settled(): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const finish = () => {
          close();
          if (scope.failure) reject(scope.failure.error);
          else resolve();
        };
        // A call that already ended (generateText) ends the run now, so a
        // flush right after `await` includes it. Otherwise the run ends when
        // the calls in flight end, but one may not have registered yet:
        // `streamText` publishes its start after it returned (it validates
        // the prompt first, microtasks only), so a run that saw no call at
        // all ends after one macrotask.
        if (scope.closed || (scope.seen > 0 && scope.pending === 0)) return finish();
        scope.onIdle = finish;
        if (scope.seen === 0) {
          setImmediate(() => {
            if (scope.seen === 0) finish();
          });
        }
      });
    },
  };
}

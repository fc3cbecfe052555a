/**
 * One warning for the tracing setup that silently mixes traces: Langfuse's
 * LangChain CallbackHandler running in LangChain's background queue. Queued
 * callbacks run in the async context of whichever run drained the queue, so
 * under concurrency one user's `LangGraph` run lands in another user's trace
 * (hexgate's own observations are not affected). Only checked when tracing
 * is on; the fix is the application's (LANGCHAIN_CALLBACKS_BACKGROUND=false
 * before the handler is created, or `handler.awaitHandlers = true`).
 */
import { isTracingEnabled } from '@hexgate/tracing';

let warned = false;

interface HandlerLike {
  readonly name?: unknown;
  readonly awaitHandlers?: unknown;
}

export function warnOnBackgroundLangfuseCallbacks(callbacks: unknown): void {
  if (warned || callbacks == null || !isTracingEnabled()) return;
  let background = false;
  try {
    // An array of handlers, or a CallbackManager holding them.
    const handlers = Array.isArray(callbacks) ? callbacks : (callbacks as { handlers?: unknown }).handlers;
    background =
      Array.isArray(handlers) &&
      handlers.some((h: HandlerLike | null) => h?.name === 'LangfuseCallbackHandler' && h.awaitHandlers === false);
  } catch {
    // Only a hint: never let it change what the call does.
  }
  if (!background) return;
  warned = true;
  process.emitWarning(
    "Langfuse CallbackHandler runs in the background: concurrent LangGraph runs can land in each other's Langfuse traces. " +
      'Set LANGCHAIN_CALLBACKS_BACKGROUND=false before creating the handler (or set handler.awaitHandlers = true).',
    { code: 'HEXGATE_LANGCHAIN_BACKGROUND_CALLBACKS' },
  );
}

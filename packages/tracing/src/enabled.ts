/**
 * Is anybody listening? Tracing is on exactly when the application has
 * registered a real OpenTelemetry tracer provider (for Langfuse: a
 * NodeTracerProvider with a LangfuseSpanProcessor), globally or via
 * Langfuse's `setLangfuseTracerProvider`. When it has not, every hexgate
 * tracing function calls straight through, so the check has to be cheap: two
 * global lookups and an identity comparison, no span, no allocation.
 */

import { getLangfuseTracerProvider } from '@langfuse/tracing';
import { context, createContextKey, ProxyTracerProvider, type TracerProvider } from '@opentelemetry/api';
import { warnOnce } from './safe.ts';

// A fresh proxy has no delegate, so it hands back the API's own no-op
// provider singleton: the object to compare against.
const NOOP_PROVIDER: TracerProvider = new ProxyTracerProvider().getDelegate();

interface Delegating {
  getDelegate(): TracerProvider;
}

function isNoop(provider: TracerProvider): boolean {
  // Another copy of @opentelemetry/api has its own singleton; its class name is stable.
  return provider === NOOP_PROVIDER || provider.constructor?.name === 'NoopTracerProvider';
}

/** True when spans created now would be recorded by a real tracer provider. */
export function isTracingEnabled(): boolean {
  try {
    let provider = getLangfuseTracerProvider();
    // The global provider is always a proxy; what matters is what it delegates to.
    const delegating = provider as Partial<Delegating>;
    if (typeof delegating.getDelegate === 'function') provider = delegating.getDelegate();
    return !isNoop(provider);
  } catch {
    return false;
  }
}

const PROBE = createContextKey('@hexgate/tracing.context-probe');

/**
 * Without a context manager (`provider.register()` installs one) OpenTelemetry
 * cannot carry the active span across calls, and every tool observation would
 * become its own trace. That breaks nothing functionally, so warn once and
 * carry on. Only called when tracing is on, where it is noise next to the
 * span work; not cached, because a context manager can be unregistered.
 */
export function checkContextManager(): void {
  const active = context.with(context.active().setValue(PROBE, true), () => context.active().getValue(PROBE));
  if (active === true) return;
  warnOnce(
    'no-context-manager',
    'a tracer provider is registered but no OpenTelemetry context manager is: hexgate tool observations cannot nest under their run. Call provider.register() (or NodeSDK.start()).',
  );
}

/**
 * Langfuse, when configured: with LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY
 * set (LANGFUSE_BASE_URL for a region or a self-hosted server), register
 * Langfuse's span processor on a global tracer provider. That is all it takes:
 * `HexgateRunner` traces every run and decision once a provider is registered,
 * and does nothing (and costs nothing) when none is.
 */
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** Registers Langfuse if it is configured; returns the shutdown (flush) to call before exiting. */
export function startLangfuse(env: NodeJS.ProcessEnv = process.env): (() => Promise<void>) | undefined {
  if (!env.LANGFUSE_PUBLIC_KEY || !env.LANGFUSE_SECRET_KEY) return undefined;
  const processor = new LangfuseSpanProcessor({
    publicKey: env.LANGFUSE_PUBLIC_KEY,
    secretKey: env.LANGFUSE_SECRET_KEY,
    baseUrl: env.LANGFUSE_BASE_URL, // default: https://cloud.langfuse.com
  });
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  provider.register(); // also installs the async context manager: without it nothing nests
  return () => provider.shutdown();
}

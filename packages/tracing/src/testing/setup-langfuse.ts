/**
 * Langfuse exactly as an application sets it up, pointed at a local receiver:
 * the real `LangfuseSpanProcessor` (and its real OTLP exporter) on a
 * `NodeTracerProvider` registered globally, so the context manager exists.
 * Requires `@langfuse/otel` and `@opentelemetry/sdk-trace-node` (dev dependencies).
 */
import { LangfuseSpanProcessor } from '@langfuse/otel';
import { context, propagation, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { type OtlpReceiver, startOtlpReceiver } from './otlp-receiver.ts';

export interface LangfuseTestOptions {
  /**
   * How the keys and URL reach Langfuse: constructor options (`'options'`,
   * default) or `LANGFUSE_PUBLIC_KEY` / `LANGFUSE_SECRET_KEY` /
   * `LANGFUSE_BASE_URL` (`'env'`; restored after the processor is built).
   */
  readonly configure?: 'options' | 'env';
  readonly publicKey?: string;
  readonly secretKey?: string;
  /** `'batched'` (Langfuse's default, what production uses) or `'immediate'`. */
  readonly exportMode?: 'batched' | 'immediate';
  /**
   * Register the provider globally (default true). `false` builds Langfuse
   * completely but never registers it: the "tracing is off" setup, where
   * nothing may be exported.
   */
  readonly register?: boolean;
}

export interface LangfuseTestSetup {
  readonly receiver: OtlpReceiver;
  readonly provider: NodeTracerProvider;
  readonly processor: LangfuseSpanProcessor;
  readonly publicKey: string;
  readonly secretKey: string;
  /** Exports everything ended so far and waits for the receiver to have it. */
  flush(): Promise<void>;
  /** Flushes, shuts the provider down, unregisters the global OTel APIs and closes the receiver. */
  shutdown(): Promise<void>;
}

export async function setupLangfuseForTest(options: LangfuseTestOptions = {}): Promise<LangfuseTestSetup> {
  const receiver = await startOtlpReceiver();
  const publicKey = options.publicKey ?? 'pk-lf-hexgate-test';
  const secretKey = options.secretKey ?? 'sk-lf-hexgate-test';
  const exportMode = options.exportMode ?? 'batched';
  let processor: LangfuseSpanProcessor;
  if (options.configure === 'env') {
    const vars = { LANGFUSE_PUBLIC_KEY: publicKey, LANGFUSE_SECRET_KEY: secretKey, LANGFUSE_BASE_URL: receiver.url };
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    Object.assign(process.env, vars);
    try {
      processor = new LangfuseSpanProcessor({ exportMode });
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  } else {
    processor = new LangfuseSpanProcessor({ publicKey, secretKey, baseUrl: receiver.url, exportMode });
  }
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  if (options.register !== false) provider.register();
  let closed = false;
  return {
    receiver,
    provider,
    processor,
    publicKey,
    secretKey,
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (closed) return;
      closed = true;
      try {
        await provider.forceFlush();
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
        await receiver.close();
      }
    },
  };
}

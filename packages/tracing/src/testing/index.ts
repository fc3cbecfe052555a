/**
 * @hexgate/tracing/testing: test helpers for code that traces with hexgate
 * (the adapters' tests). Public API, kept out of the main entry because it
 * needs @langfuse/otel and @opentelemetry/sdk-trace-node.
 */

export {
  type OtlpReceiver,
  type ReceivedRequest,
  type ReceivedSpan,
  startOtlpReceiver,
} from './otlp-receiver.ts';
export { type LangfuseTestOptions, type LangfuseTestSetup, setupLangfuseForTest } from './setup-langfuse.ts';

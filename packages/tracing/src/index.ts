/**
 * @hexgate/tracing public API: anything exported here is public and
 * versioned; everything else is internal.
 *
 * Langfuse (OpenTelemetry) tracing of agent runs and policy decisions, shared
 * by the hexgate adapters. Everything is a plain pass-through when the
 * application has not registered a tracer provider.
 */

export { isTracingEnabled } from './enabled.ts';
export { createTracingListener, type TracingListener } from './listener.ts';
export { type RunInfo, type TraceRunStreamOptions, traceRun, traceRunStream } from './trace-run.ts';
export {
  type ApprovalInfo,
  type RecordDecisionOptions,
  recordDecision,
  type ToolCallTraceOptions,
  type ToolStatus,
  traceToolCall,
} from './trace-tool-call.ts';

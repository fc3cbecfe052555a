/**
 * What the tracer may record as the arguments of a blocked call.
 *
 * `@hexgate/tracing` redacts what it records by key (`password`, `token`...),
 * which it cannot do inside a string. The SDK hands the gate the model's raw
 * JSON string, so a call is always recorded with a parsed value: the snapshot
 * the decision was made on, or, when core rejected the raw text itself
 * (duplicate keys, non-finite numbers...) and there is no snapshot, a lenient
 * parse of it, made only when tracing is on. Never the raw string.
 */
import type { FrozenArgs } from '@hexgate/core';
import { isTracingEnabled } from '@hexgate/tracing';

export function tracedArgs(args: FrozenArgs | undefined, raw: unknown): unknown {
  if (args !== undefined) return args;
  if (typeof raw !== 'string') return raw;
  if (!isTracingEnabled()) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return '[arguments that are not JSON]';
  }
}

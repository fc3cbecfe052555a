/**
 * Tool arguments as a trace may hold them. Core accepts a call's arguments as
 * an object or as the host's raw JSON text (OpenAI Agents hands over the
 * model's string), and callers may pass either here. `redact` hides secrets by
 * key, which it cannot do inside a string, so raw text is parsed first
 * (leniently: this is only the record, the decision was made by core) and
 * then redacted. Text that does not parse is replaced by a marker, never
 * recorded verbatim. Only called when tracing is on.
 */
import { DEFAULT_ARGS_LIMITS, redact } from '@hexgate/core';

export function recordedArgs(args: unknown): unknown {
  if (typeof args !== 'string') return redact(args);
  // Larger than core ever accepts by default: not worth parsing for a trace.
  if (args.length > DEFAULT_ARGS_LIMITS.maxBytes) return '[arguments too large to record]';
  try {
    return redact(JSON.parse(args));
  } catch {
    return '[arguments that are not JSON]';
  }
}

/**
 * Tool arguments (and other caller data) as a trace may hold them. Core
 * accepts a call's arguments as an object or as the host's raw JSON text
 * (OpenAI Agents hands over the model's string), and callers may pass either
 * here. `redact` hides secrets by key, which it cannot do inside a string,
 * so raw text is parsed first (leniently: this is only the record, the
 * decision was made by core) and then redacted. Text that does not parse is
 * replaced by a marker, never recorded verbatim. Only called when tracing is on.
 */
import { DEFAULT_ARGS_LIMITS, redact } from '@hexgate/core';

export function recordedArgs(args: unknown): unknown {
  if (typeof args !== 'string') return recordable(args);
  // Larger than core ever accepts by default: not worth parsing for a trace.
  if (args.length > DEFAULT_ARGS_LIMITS.maxBytes) return '[arguments too large to record]';
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    return '[arguments that are not JSON]';
  }
  return recordable(parsed);
}

/** A first pass that only hides secrets by key and makes plain data: strings stay whole. */
const WHOLE_STRINGS = { maxStringLength: Number.MAX_SAFE_INTEGER, maxTotalChars: Number.MAX_SAFE_INTEGER };

/** JSON text inside JSON text inside... is opened this many levels deep; deeper is not recorded. */
const MAX_JSON_LEVELS = 4;

const LOOKS_LIKE_JSON = /^\s*[[{]/;

/**
 * `redact`, plus secrets inside JSON text: an argument holding a request
 * body, a list of serialized headers or a tool's JSON config
 * (`{ body: '{"password":"..."}' }`) would otherwise be recorded as text,
 * secret and all (cut to 1,024 characters, which keeps its start). Such text
 * is parsed, redacted and serialized again before the usual size caps apply.
 */
export function recordable(value: unknown): unknown {
  return redact(openJsonText(redact(value, WHOLE_STRINGS), 0));
}

/** `value` is plain data from `redact` (no cycles, getters or class instances). */
function openJsonText(value: unknown, level: number): unknown {
  if (typeof value === 'string') return LOOKS_LIKE_JSON.test(value) ? redactedJsonText(value, level) : value;
  if (Array.isArray(value)) return value.map((item) => openJsonText(item, level));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value)) out[key] = openJsonText((value as Record<string, unknown>)[key], level);
    return out;
  }
  return value;
}

function redactedJsonText(text: string, level: number): string {
  if (text.length > DEFAULT_ARGS_LIMITS.maxBytes) return '[JSON text too large to record]';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text; // not JSON after all: an ordinary string
  }
  if (level >= MAX_JSON_LEVELS) return '[JSON text nested too deep to record]';
  return JSON.stringify(openJsonText(redact(parsed, WHOLE_STRINGS), level + 1));
}

/**
 * The secrets a call's arguments carry (the values `redact` would hide), so
 * they can be cut out of free text that may quote them: an error message.
 * Validation libraries, HTTP clients and tools themselves often put their
 * input in the message (`invalid input {"password":"..."}`), and hexgate
 * records a failed tool's message on its observation and a failed run's on
 * the run. Only called when tracing is on, and the messages only on failure.
 */
import { DEFAULT_ARGS_LIMITS, isSecretKey } from '@hexgate/core';

const MAX_DEPTH = 16;
const MAX_NODES = 10_000;
const MAX_JSON_LEVELS = 4;
const LOOKS_LIKE_JSON = /^\s*[[{]/;

/** Every string and number under a secret key of `args` (raw JSON text is parsed first), at any depth. */
export function secretValues(args: unknown): Set<string> {
  const found = new Set<string>();
  const state = { nodes: 0, seen: new Set<object>() };
  const visit = (value: unknown, depth: number, underSecret: boolean, level: number): void => {
    if (++state.nodes > MAX_NODES || depth > MAX_DEPTH) return;
    if (typeof value === 'string') {
      if (underSecret && value !== '') found.add(value);
      if (level < MAX_JSON_LEVELS && value.length <= DEFAULT_ARGS_LIMITS.maxBytes && LOOKS_LIKE_JSON.test(value)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          return;
        }
        visit(parsed, depth + 1, underSecret, level + 1);
      }
      return;
    }
    if (typeof value === 'number' || typeof value === 'bigint') {
      if (underSecret) found.add(String(value));
      return;
    }
    if (typeof value !== 'object' || value === null || state.seen.has(value)) return;
    state.seen.add(value);
    try {
      for (const key of Object.keys(value)) {
        let child: unknown;
        try {
          child = (value as Record<string, unknown>)[key];
        } catch {
          continue;
        }
        visit(child, depth + 1, underSecret || isSecretKey(key), level);
      }
    } catch {
      // an object whose keys cannot be listed holds nothing we can find
    }
  };
  try {
    visit(args, 0, false, 0);
  } catch {
    // never let the search break a call
  }
  return found;
}

/** `text` with every secret replaced, as written and as it appears inside JSON text. */
export function withoutSecrets(text: string, secrets: Iterable<string>): string {
  const list = [...secrets].sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of list) {
    out = out.split(secret).join('[REDACTED]');
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret) out = out.split(escaped).join('[REDACTED]');
  }
  return out;
}

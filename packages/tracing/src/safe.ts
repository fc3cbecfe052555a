/**
 * Tracing must never change what a call does. Everything that only feeds the
 * tracer runs through `safely`, and a failure there becomes one process warning.
 */
import { redact } from '@hexgate/core';
import { withoutSecrets } from './secret-values.ts';

const warned = new Set<string>();

export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  process.emitWarning(`hexgate tracing: ${message}`);
}

export function safely(what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    warnOnce(`failed:${what}`, `${what} failed: ${errorMessage(e)}`);
  }
}

/**
 * A short description of a thrown value for a status message, with `secrets`
 * (the values of the call's secret arguments) cut out first: an error message
 * often quotes the input it failed on. Cut before shortening, so a secret at
 * the cut is not left half visible.
 */
export function errorMessage(error: unknown, secrets?: Iterable<string>): string {
  let message: string;
  try {
    message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    // Object.create(null), a throwing toString or message getter: describing
    // it must not stop the observation from being ended.
    message = '[an error that cannot be described]';
  }
  if (secrets) message = withoutSecrets(message, secrets);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

/** `text` cut to `max` characters, noting its full length (core's truncation, as for arguments). */
export function clipText(text: string, max: number): string {
  return text.length <= max ? text : (redact(text, { maxStringLength: max }) as string);
}

export function once<A>(fn: (a: A) => void): (a: A) => void {
  let called = false;
  return (a) => {
    if (called) return;
    called = true;
    fn(a);
  };
}

/**
 * Tracing must never change what a call does. Everything that only feeds the
 * tracer runs through `safely`, and a failure there becomes one process warning.
 */
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

/** A short, single-line description of a thrown value for a status message. */
export function errorMessage(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return message.length > 500 ? `${message.slice(0, 500)}…` : message;
}

export function once<A>(fn: (a: A) => void): (a: A) => void {
  let called = false;
  return (a) => {
    if (called) return;
    called = true;
    fn(a);
  };
}

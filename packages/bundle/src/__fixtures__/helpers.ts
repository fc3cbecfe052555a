/** Test helpers: temp dirs, policies, keys, waiting for events without blind sleeps. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { generateKeyPair, type PolicySource, type PolicySourceEvent } from '../index.ts';

const dirs: string[] = [];
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Runs `fn` after the current test (LIFO), e.g. closing sources and servers. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** Closes `source` after the current test. */
export function track(source: PolicySource): PolicySource {
  onCleanup(() => source.close());
  return source;
}

/** A `refund` call for `amount`. */
export const refund = (amount: number) => ({ tool: 'refund', args: { amount } });

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'hexgate-bundle-'));
  dirs.push(d);
  return d;
}

/** A flat policy where `refund` is allowed up to `limit` (or denied when limit is undefined). */
export function refundPolicy(limit: number | undefined): string {
  return limit === undefined
    ? 'tools:\n  refund: { mode: deny }\ndefault_policy: { mode: deny }\n'
    : `tools:\n  refund:\n    mode: allow\n    constraints: ['args.amount <= ${limit}']\ndefault_policy: { mode: deny }\n`;
}

export function writePolicy(dir: string, text: string, name = 'policy.yaml'): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export async function keys(dir: string, name = 'signing') {
  return generateKeyPair(join(dir, name));
}

/** Polls `check` until it returns a truthy value (no fixed sleeps; fails after `timeoutMs`). */
export async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves with the next event of `source` matching `match`. */
export function nextEvent<E extends PolicySourceEvent>(
  source: PolicySource,
  match: (e: PolicySourceEvent) => e is E,
  what = 'a policy source event',
  timeoutMs = 10_000,
): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const off = source.subscribe((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

export const isLoaded = (e: PolicySourceEvent): e is Extract<PolicySourceEvent, { type: 'loaded' }> =>
  e.type === 'loaded';
export const isError = (e: PolicySourceEvent): e is Extract<PolicySourceEvent, { type: 'error' }> => e.type === 'error';

/** Matches an error event whose error has `code`. */
export const errorWith =
  (code: string) =>
  (e: PolicySourceEvent): e is Extract<PolicySourceEvent, { type: 'error' }> =>
    e.type === 'error' && e.error.code === code;

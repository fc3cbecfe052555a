/**
 * Runs code "as" the resolved caller. With a user, that is core's
 * `runWithUser`. Without one (an anonymous caller), the code must see *no*
 * user, not whatever happens to be in the ambient scope: over
 * `InMemoryTransport` the server runs inside the client's async context, and
 * an HTTP host may have bound some other user around the transport.
 * `enforcer.decide` falls back to the ambient scope when `call.user` is
 * undefined, so the anonymous case runs outside the scope entirely.
 */
import type { AsyncLocalStorage } from 'node:async_hooks';
import { runWithUser, type User } from '@hexgate/core';

// Core keeps its scope on globalThis under this documented cross-copy key
// (see @hexgate/core user-scope.ts). If it was never created, no user can be
// in scope, so there is nothing to step out of.
const CORE_SCOPE_KEY = Symbol.for('@hexgate/core.userScope');

export function asCaller<T>(user: User | undefined, fn: () => T): T {
  if (user) return runWithUser(user, fn);
  const scope = (globalThis as Record<symbol, unknown>)[CORE_SCOPE_KEY] as AsyncLocalStorage<unknown> | undefined;
  return scope && typeof scope.exit === 'function' ? scope.exit(fn) : fn();
}

/**
 * Runs code "as" the resolved caller. With a user, that is core's
 * `runWithUser`. Without one (an anonymous caller), the code must see *no*
 * user, not whatever happens to be in the ambient scope: over
 * `InMemoryTransport` the server runs inside the client's async context, and
 * an HTTP host may have bound some other user around the transport.
 * `enforcer.decide` falls back to the ambient scope when `call.user` is
 * undefined, so the anonymous case runs outside the scope entirely.
 */
import { runWithoutUser, runWithUser, type User } from '@hexgate/core';

export function asCaller<T>(user: User | undefined, fn: () => T): T {
  return user ? runWithUser(user, fn) : runWithoutUser(fn);
}

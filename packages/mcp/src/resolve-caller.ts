/**
 * Who is calling: always the server's own answer (`resolveUser(extra)`,
 * typically from the verified token in `extra.authInfo`), never anything the
 * client put in the tool arguments. A resolver that throws fails the request:
 * it must not silently downgrade to the anonymous `default` role.
 */
import { type Enforcer, getUser, InvalidOptionsError, runWithUser, type User } from '@hexgate/core';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ErrorCode, McpError, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { asCaller } from './caller-scope.ts';

export type McpRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Maps a request's transport context to the caller; `undefined` means anonymous (the `default` role). */
export type ResolveUser = (extra: McpRequestExtra) => User | undefined | Promise<User | undefined>;

export function callerResolver(
  resolveUser: ResolveUser | undefined,
): (extra: McpRequestExtra) => Promise<User | undefined> {
  if (resolveUser !== undefined && typeof resolveUser !== 'function') {
    throw new InvalidOptionsError('resolveUser must be a function (extra) => User | undefined');
  }
  return async (extra) => {
    if (!resolveUser) return undefined;
    try {
      const user = await resolveUser(extra);
      // A resolver must name the caller: this also catches returning `extra.authInfo` itself.
      const problem = user === undefined ? undefined : userProblem(user, { requireId: true });
      if (problem) {
        throw new TypeError(`resolveUser returned something that is not a User ({ id: string, roles? }): ${problem}`);
      }
      // The caller is decided on later (after schema validation, maybe after an
      // approval wait) and bound for the tool: keep core's frozen copy, taken
      // now. A resolver that hands back one shared object it refills per
      // request (or a session object mutated later) would otherwise have this
      // call decided, and run, as whoever the object names by then.
      return user === undefined ? undefined : runWithUser(user, getUser);
    } catch (e) {
      throw new McpError(ErrorCode.InternalError, `hexgate: could not resolve the caller: ${describe(e)}`);
    }
  };
}

/** A thrown value's message, without throwing itself (a getter that throws, an object with no string form). */
function describe(e: unknown): string {
  try {
    const message = (e as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : String(e);
  } catch {
    return 'the resolver threw a value that cannot be described';
  }
}

/**
 * Why `value` cannot be decided for, or undefined when it can. Roles that are
 * not an array of strings would silently fall back to the `default` role, so
 * they are refused with a clear error instead.
 */
export function userProblem(value: unknown, options: { requireId: boolean }): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const { id, roles } = value as { id?: unknown; roles?: unknown };
  if (typeof id !== 'string' && (options.requireId || id !== undefined)) return '`id` is not a string';
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
    return '`roles` is not an array of strings';
  }
  return undefined;
}

/**
 * The subset of `tools` the caller could ever be allowed (allow or approval).
 * Hiding is a convenience: calls are still decided. In shadow mode nothing is
 * hidden, since shadow mode must not change what the client can do.
 */
export function visibleTools<T extends { readonly name: string }>(
  enforcer: Enforcer,
  tools: readonly T[],
  user: User | undefined,
): T[] {
  if (enforcer.mode === 'shadow') return [...tools];
  return asCaller(user, () => tools.filter((tool) => enforcer.couldCall(tool.name, user)));
}

/**
 * The caller's identity, bound per request with AsyncLocalStorage.
 *
 * The store lives on `globalThis` under a `Symbol.for` key and is created
 * lazily, so two copies of @hexgate/core (e.g. a duplicated install) share one
 * scope, and importing this module has no side effect.
 * This is the only file that imports `node:async_hooks`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { InvalidOptionsError, MissingUserError } from './errors.ts';

export interface User {
  /** Stable identifier of the human or service the agent acts for. */
  readonly id: string;
  /** Role names from the policy. None (or unknown names) means the `default` role. */
  readonly roles?: readonly string[];
  readonly sessionId?: string;
  /** Caller attributes, visible to constraints as `ctx.<name>`. */
  readonly attributes?: Readonly<Record<string, unknown>>;
}

const STORE_KEY = Symbol.for('@hexgate/core.userScope');

function store(): AsyncLocalStorage<User> {
  const g = globalThis as Record<symbol, unknown>;
  let als = g[STORE_KEY] as AsyncLocalStorage<User> | undefined;
  if (!als) {
    als = new AsyncLocalStorage<User>();
    Object.defineProperty(g, STORE_KEY, { value: als, enumerable: false, configurable: false, writable: false });
  }
  return als;
}

/**
 * Why `user` is not a usable `User`, or undefined when it is. A malformed user
 * (a bare string, roles given as a string, no id) would otherwise silently
 * fall back to the `default` role.
 */
export function userProblem(user: unknown): string | undefined {
  if (typeof user !== 'object' || user === null || Array.isArray(user))
    return 'a user must be an object { id, roles?, sessionId?, attributes? }';
  const u = user as Record<string, unknown>;
  if (typeof u.id !== 'string') return 'user.id must be a string';
  if (u.roles !== undefined && (!Array.isArray(u.roles) || !u.roles.every((r) => typeof r === 'string'))) {
    return 'user.roles must be a list of role names';
  }
  if (u.sessionId !== undefined && typeof u.sessionId !== 'string') return 'user.sessionId must be a string';
  if (
    u.attributes !== undefined &&
    (typeof u.attributes !== 'object' || u.attributes === null || Array.isArray(u.attributes))
  ) {
    return 'user.attributes must be an object';
  }
  return undefined;
}

/** Runs `fn` with `user` in scope for everything it calls, sync or async. Throws `InvalidOptionsError` for a malformed user. */
export function runWithUser<T>(user: User, fn: () => T): T {
  const problem = userProblem(user);
  if (problem) throw new InvalidOptionsError(`runWithUser: ${problem}`);
  return store().run(freezeUser(user), fn);
}

/**
 * Runs `fn` with no user in scope, whatever the caller had bound: for servers
 * that act for an anonymous remote caller inside some other request's context.
 */
export function runWithoutUser<T>(fn: () => T): T {
  return store().exit(fn);
}

/** The user in scope; throws `MissingUserError` when there is none. */
export function getUser(): User {
  const user = store().getStore();
  if (!user) throw new MissingUserError();
  return user;
}

/** The user in scope, or `undefined`. */
export function tryGetUser(): User | undefined {
  return store().getStore();
}

/** A defensive frozen copy, so a caller mutating its object later changes nothing in flight. */
function freezeUser(user: User): User {
  if (Object.isFrozen(user)) return user;
  return Object.freeze({
    ...user,
    ...(user.roles ? { roles: Object.freeze([...user.roles]) } : {}),
    ...(user.attributes ? { attributes: Object.freeze({ ...user.attributes }) } : {}),
  });
}

/**
 * The caller's identity, bound per request with AsyncLocalStorage.
 *
 * The store lives on `globalThis` under a `Symbol.for` key and is created
 * lazily, so two copies of @hexgate/core (e.g. a duplicated install) share one
 * scope, and importing this module has no side effect.
 * This is the only file that imports `node:async_hooks`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { snapshotArgs } from './args/snapshot-args.ts';
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

/** Copies this module made (frozen, validated): used as they are, never copied again. */
const bound = new WeakSet<object>();

export type UserCopy = { readonly user: User; readonly problem?: undefined } | { readonly problem: string };

/**
 * A validated, deep-frozen copy of `user`, or why it is not a usable `User`.
 * Each field is read exactly once and the copy is what gets validated and
 * used, so a getter cannot answer one thing to validation and another to the
 * decision, and mutating the caller's object (its `roles` array, a nested
 * attribute) later changes nothing in flight. A malformed user (a bare
 * string, roles given as a string, no id) would otherwise silently fall back
 * to the `default` role. Attributes must be plain JSON data: constraints
 * compare them as JSON (`ctx.<name>`).
 */
export function copyUser(user: unknown): UserCopy {
  if (typeof user === 'object' && user !== null && bound.has(user)) return { user: user as User };
  if (typeof user !== 'object' || user === null || Array.isArray(user))
    return { problem: 'a user must be an object { id, roles?, sessionId?, attributes? }' };
  let id: unknown;
  let roles: unknown;
  let sessionId: unknown;
  let attributes: unknown;
  try {
    const u = user as Record<string, unknown>;
    id = u.id;
    roles = u.roles;
    sessionId = u.sessionId;
    attributes = u.attributes;
  } catch {
    return { problem: 'the user object could not be read' };
  }
  // An empty id would count as identified (it passes `requireUser`) while naming nobody.
  if (typeof id !== 'string' || id === '') return { problem: 'user.id must be a non-empty string' };
  let roleList: readonly string[] | undefined;
  if (roles !== undefined) {
    if (!Array.isArray(roles)) return { problem: 'user.roles must be a list of role names' };
    const list: string[] = [];
    for (let i = 0; i < roles.length; i++) {
      const role: unknown = roles[i];
      if (typeof role !== 'string') return { problem: 'user.roles must be a list of role names' };
      list.push(role);
    }
    roleList = Object.freeze(list);
  }
  if (sessionId !== undefined && typeof sessionId !== 'string') return { problem: 'user.sessionId must be a string' };
  let attrs: Readonly<Record<string, unknown>> | undefined;
  if (attributes !== undefined) {
    // Checked first: snapshotArgs would parse a string as JSON text.
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
      return { problem: 'user.attributes must be an object' };
    const snap = snapshotArgs(attributes);
    if (!snap.ok)
      return { problem: `user.attributes must be plain JSON data: ${snap.reason.replace(/^invalid arguments: /, '')}` };
    attrs = snap.args;
  }
  const copy: { -readonly [K in keyof User]: User[K] } = { id };
  if (roleList !== undefined) copy.roles = roleList;
  if (sessionId !== undefined) copy.sessionId = sessionId as string;
  if (attrs !== undefined) copy.attributes = attrs;
  return { user: Object.freeze(copy) };
}

/** Runs `fn` with `user` in scope for everything it calls, sync or async. Throws `InvalidOptionsError` for a malformed user. */
export function runWithUser<T>(user: User, fn: () => T): T {
  const copy = copyUser(user);
  if (copy.problem !== undefined) throw new InvalidOptionsError(`runWithUser: ${copy.problem}`);
  // Remembered, so adapters passing `getUser()` back as `call.user` do not copy it again.
  bound.add(copy.user);
  return store().run(copy.user, fn);
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

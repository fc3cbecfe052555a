/**
 * Options shared by every export, and the per-enforcer state they share:
 * `hexgateTools`, `hexgateToolApproval` and `hexgateModelMiddleware` built
 * with the same enforcer see the same pending approvals without any wiring.
 */
import { type Decision, type Enforcer, InvalidOptionsError, type User } from '@hexgate/core';

/** One approval that was requested and not answered yet. */
export interface PendingApproval {
  /** The decision that required the approval. */
  readonly decision: Decision;
  /** The frozen arguments that decision was made on (the approval covers exactly these). */
  readonly args: unknown;
}

/**
 * Where pending approvals live between the request and the resumed call.
 * A `Map` fits. Use a shared store (Redis, a database) when the resumed
 * request may reach another server. `delete` must return whether the key
 * existed: that is what makes a replayed approval run at most once.
 */
export interface ApprovalStore {
  get(key: string): PendingApproval | undefined | PromiseLike<PendingApproval | undefined>;
  set(key: string, value: PendingApproval): unknown;
  delete(key: string): boolean | PromiseLike<boolean>;
}

export interface HexgateAiOptions {
  readonly enforcer: Enforcer;
  /** Recorded on every decision; overrides the enforcer's `agentName`. */
  readonly agentName?: string;
  /**
   * Reads the caller from the SDK's explicit context: the tool's context
   * (`toolsContext[toolName]`) and, in `hexgateToolApproval`, `runtimeContext`.
   * Default: the `hexgateUser` property. When it returns nothing, the user
   * bound with `runWithUser` is used.
   */
  readonly contextUser?: (context: unknown) => User | undefined;
  /** Pending approvals. Default: in memory, shared per enforcer. */
  readonly approvals?: ApprovalStore;
}

/**
 * Checked when a hook or tool set is built, so a wiring mistake is a clear
 * error at startup rather than a TypeError (or a denial) at the first call.
 */
export function checkOptions<O extends HexgateAiOptions>(options: O, caller: string): O {
  const fail = (what: string) => {
    throw new InvalidOptionsError(`@hexgate/vercel-ai ${caller}: ${what}`);
  };
  if (typeof options?.enforcer?.decide !== 'function') fail('pass { enforcer } (from createEnforcer)');
  if (options.contextUser !== undefined && typeof options.contextUser !== 'function') {
    fail('`contextUser` must be a function (context) => User | undefined');
  }
  const store = options.approvals;
  if (store !== undefined && !(['get', 'set', 'delete'] as const).every((m) => typeof store?.[m] === 'function')) {
    fail('`approvals` must have get, set and delete methods (a Map fits)');
  }
  return options;
}

const defaultContextUser = (context: unknown): User | undefined => {
  const candidate = (context as { hexgateUser?: unknown } | null | undefined)?.hexgateUser;
  return typeof (candidate as User | undefined)?.id === 'string' ? (candidate as User) : undefined;
};

/**
 * The caller could not be read from the SDK's context (`contextUser`, or a
 * getter on the context, threw). Falling back to `runWithUser` could decide
 * for someone else, and throwing would end the host's run: the call is refused.
 */
export class UnreadableUser {
  constructor(readonly reason: string) {}
}

/** The explicit user from the first context that carries one (undefined: core falls back to `runWithUser`). */
export function explicitUser(options: HexgateAiOptions, ...contexts: unknown[]): User | UnreadableUser | undefined {
  const read = options.contextUser ?? defaultContextUser;
  for (const context of contexts) {
    if (context == null) continue;
    try {
      const user = read(context);
      if (user) return user;
    } catch (e) {
      return new UnreadableUser(`the user could not be read from the SDK context (${(e as Error)?.message ?? e})`);
    }
  }
  return undefined;
}

/** A bounded in-memory store: an abandoned approval must not leak forever. */
class MemoryApprovalStore extends Map<string, PendingApproval> implements ApprovalStore {
  override set(key: string, value: PendingApproval): this {
    if (this.size >= 10_000) this.delete(this.keys().next().value as string);
    return super.set(key, value);
  }
}

const stores = new WeakMap<Enforcer, ApprovalStore>();

export function approvalStore(options: HexgateAiOptions): ApprovalStore {
  if (options.approvals) return options.approvals;
  let store = stores.get(options.enforcer);
  if (!store) {
    store = new MemoryApprovalStore();
    stores.set(options.enforcer, store);
  }
  return store;
}

/** Approvals are bound to the caller as well as to the call: another user cannot resume them. */
export function approvalKey(userId: string | undefined, toolCallId: string): string {
  return JSON.stringify([userId ?? null, toolCallId]);
}

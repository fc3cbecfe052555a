/**
 * Who created each task of a gated task tool, so that only they are served it.
 *
 * Why: the SDK's task store scopes a task to the MCP session that created it,
 * and a task created without a session (stateless Streamable HTTP, stdio,
 * in-memory) to nobody. Any caller could then list it (`tasks/list`) and read
 * its result (`tasks/result`): the result of a call the policy allowed for
 * someone else, read by a caller it denies.
 *
 * Ownership is kept per task store object, so the per-request servers of a
 * stateless deployment that share one store share it too. It lives in this
 * process's memory: a task this process did not see being created (another
 * process sharing a durable store, or one created before a restart) is served
 * to nobody, which fails closed.
 */
import type { User } from '@hexgate/core';

export interface TaskOwners {
  /** Records the caller of a gated `createTask` as the owner of the task it returned. */
  record(created: unknown, user: User | undefined): void;
  /** Whether `user` (undefined: anonymous) created the task `taskId`. */
  owns(taskId: unknown, user: User | undefined): boolean;
}

interface Owner {
  /** The user's id; anonymous callers share one owner (they cannot be told apart). */
  readonly id: string | typeof ANONYMOUS;
  readonly expires: number;
}

const ANONYMOUS = Symbol('anonymous');
/** Entries outlive their task's ttl by this much before they are swept. */
const GRACE_MS = 60_000;
const SWEEP_EVERY = 1024;

interface Ledger {
  readonly owners: Map<string, Owner>;
  recorded: number;
}

const byStore = new WeakMap<object, Ledger>();

export function taskOwners(store: unknown): TaskOwners {
  let ledger: Ledger = { owners: new Map(), recorded: 0 };
  if (typeof store === 'object' && store !== null) {
    ledger = byStore.get(store) ?? ledger;
    byStore.set(store, ledger);
  }
  const { owners } = ledger;
  const ownerId = (user: User | undefined) => (user ? user.id : ANONYMOUS);
  return {
    record(created, user) {
      const task = (created as { task?: { taskId?: unknown; ttl?: unknown } } | null)?.task;
      if (typeof task?.taskId !== 'string') return;
      const ttl = typeof task.ttl === 'number' && Number.isFinite(task.ttl) ? task.ttl : Number.POSITIVE_INFINITY;
      const now = Date.now();
      owners.set(task.taskId, { id: ownerId(user), expires: now + ttl + GRACE_MS });
      // The store drops expired tasks itself; drop their owners now and then, so the map does not grow forever.
      if (++ledger.recorded % SWEEP_EVERY === 0) {
        for (const [id, owner] of owners) if (owner.expires < now) owners.delete(id);
      }
    },
    owns(taskId, user) {
      if (typeof taskId !== 'string') return false;
      const owner = owners.get(taskId);
      return owner !== undefined && owner.id === ownerId(user);
    },
  };
}

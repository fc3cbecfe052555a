/**
 * The storage seam. A sink stores sealed records; the trail does everything
 * else (queueing, redaction, hashing, chaining, failure policy). To add your
 * own storage, implement `head` and `append` (see the README).
 */
import { type AuditRecord, GENESIS_HASH } from './record.ts';

/** The last record of a chain as stored: `{ seq: 0, hash: GENESIS_HASH }` for an empty chain. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** The head of a chain without records (and the anchor of a chain nothing was deleted from). */
export const EMPTY_HEAD: ChainHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

export interface AuditSink {
  /** Short name for messages (`sqlite:./audit.db`). */
  readonly name: string;
  /** The stored head of `chain`; the trail continues the chain from it. */
  head(chain: string): ChainHead | Promise<ChainHead>;
  /**
   * Stores `records` (one chain, consecutive `seq`, each `prevHash` = the
   * previous record's `hash`) all-or-nothing, and only if `records[0]`
   * continues the stored head (`seq` = head.seq + 1, `prevHash` = head.hash);
   * otherwise it must store nothing and throw `ChainConflictError` (another
   * writer moved the head). When the returned promise resolves, the records
   * must be durable: the trail reports them as committed.
   */
  append(records: readonly AuditRecord[]): void | Promise<void>;
  /**
   * Optional synchronous `append`, used by the process `exit` handler, where
   * no asynchronous work can run. Sinks without it lose what is still queued
   * at `exit` (the trail says so on stderr); `beforeExit` flushes them first.
   */
  appendSync?(records: readonly AuditRecord[]): void;
  close?(): void | Promise<void>;
}

/** Thrown by `append` when the stored head is not where the records continue from. */
export class ChainConflictError extends Error {
  override readonly name = 'ChainConflictError';
  constructor(
    readonly chain: string,
    readonly expected: ChainHead,
    readonly stored: ChainHead,
  ) {
    super(
      `audit chain '${chain}' moved: expected head seq ${expected.seq}, stored head is seq ${stored.seq} (another writer appended)`,
    );
  }
}

/** Checks that `records` continue `head`; for sinks that implement `append` themselves. */
export function assertContinues(head: ChainHead, records: readonly AuditRecord[]): void {
  const first = records[0];
  if (!first) return;
  if (first.seq !== head.seq + 1 || first.prevHash !== head.hash) {
    throw new ChainConflictError(first.chain, { seq: first.seq - 1, hash: first.prevHash }, head);
  }
}

/**
 * The audit trail: plugs into `createEnforcer({ recorder })`, takes every
 * decision and approval event on the hot path by only enqueueing it, and
 * writes them in batches from a single writer that assigns the gap-free
 * sequence numbers and the hash chain. Being the only place that numbers
 * records, the writer cannot fork the chain however many decisions run
 * concurrently; sinks also refuse a batch that does not continue the stored
 * head, so two processes on one chain cannot fork it either.
 *
 * Failure policy (`failureMode`), applied when the queue is full or the sink
 * is failing:
 * - `failClosed` (default): `recordDecision` returns "audit unavailable", and
 *   the enforcer turns the decision into a deny. No side effect runs unrecorded.
 * - `drop`: the decision goes ahead unrecorded and is counted.
 * Either way the count is exposed by `stats()` and written to the chain as a
 * `loss` record as soon as the sink accepts writes again.
 */
import type { ApprovalEvent, DecisionEvent, DecisionRecorder, RedactOptions } from '@hexgate/core';
import { InvalidOptionsError, redactWithOrder } from '@hexgate/core';
import { type ExitParticipant, unwatchExit, watchExit } from './exit-hooks.ts';
import { intOption } from './options.ts';
import {
  type AuditRecord,
  approvalBody,
  decisionBody,
  type LossNotice,
  lossBody,
  type RecordBody,
  sealRecord,
} from './record.ts';
import type { AuditSink, ChainHead } from './sink.ts';

export type FailureMode = 'failClosed' | 'drop';

/** Tries per batch when other writers keep moving the chain head. */
const MAX_CONFLICT_ATTEMPTS = 10;

/** The reason a refused decision is denied with (mode `failClosed`). */
export const AUDIT_UNAVAILABLE = 'audit unavailable';

export interface AuditTrailOptions {
  readonly sink: AuditSink;
  /** Chain id (default `default`). Give each concurrent writer process its own chain, or share one: sinks serialize writers. */
  readonly chain?: string;
  /** What to do when the queue is full or the sink fails (default `failClosed`). */
  readonly failureMode?: FailureMode;
  /** Records held in memory at most (default 100,000). */
  readonly maxQueue?: number;
  /** Records written per transaction at most (default 2,000). */
  readonly batchSize?: number;
  /** How long a partial batch waits before it is written (default 25 ms). */
  readonly flushIntervalMs?: number;
  /** First delay before retrying a failed write; doubles up to 5 s (default 100 ms). */
  readonly retryDelayMs?: number;
  /**
   * A write that has not finished after this long counts as a failure until
   * it does (default 5,000 ms): in `failClosed` mode decisions are denied
   * meanwhile, as with a sink that throws.
   */
  readonly stallTimeoutMs?: number;
  /** How arguments and user attributes are redacted and size-capped: core's `redact` options. */
  readonly redact?: RedactOptions;
  /** Flush on process exit (default true). */
  readonly exitHandler?: boolean;
  /** Close the sink in `close()` (default true). */
  readonly closeSink?: boolean;
  /** Called after each committed batch: everything up to `lastSeq` is durable. */
  readonly onCommit?: (commit: AuditCommit) => void;
  /** Called on every failed write (the trail retries by itself). */
  readonly onError?: (error: unknown) => void;
}

export interface AuditCommit {
  readonly chain: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  readonly count: number;
}

export interface AuditTrailStats {
  readonly chain: string;
  readonly failureMode: FailureMode;
  /** Records waiting to be written. */
  readonly queued: number;
  /** Records committed by this trail (including loss notices). */
  readonly written: number;
  /** Decisions/approvals dropped since the trail started (mode `drop`). */
  readonly dropped: number;
  /** Decisions refused, and so denied, since the trail started (mode `failClosed`). */
  readonly refused: number;
  /** Losses not yet written to the chain as a `loss` record. */
  readonly unreportedLosses: number;
  /** Failed writes since the trail started. */
  readonly failures: number;
  /** False from a failed write until the next successful one. */
  readonly healthy: boolean;
  readonly lastError: string | undefined;
  /** The last committed record, once known. */
  readonly head: ChainHead | undefined;
  readonly closed: boolean;
}

export interface AuditTrail extends DecisionRecorder {
  readonly chain: string;
  readonly sink: AuditSink;
  /** Enqueue a decision (the enforcer calls this). Returns a refusal reason, or undefined. */
  recordDecision(event: DecisionEvent): string | undefined;
  /** Enqueue an approval event. Approvals are never refused or dropped: they are rare and human-paced. */
  recordApproval(event: ApprovalEvent): void;
  /** Writes everything enqueued so far; rejects if the sink fails (records stay queued and are retried). */
  flush(): Promise<void>;
  /** Stops taking records, flushes, closes the sink. Rejects, after closing, if records could not be written. */
  close(): Promise<void>;
  stats(): AuditTrailStats;
}

type Loss = { -readonly [K in keyof LossNotice]: LossNotice[K] };

type Entry = DecisionEvent | ApprovalEvent;

interface Batch {
  /** Queue entries in the batch (the loss notice is extra). */
  readonly count: number;
  readonly records: readonly AuditRecord[];
  readonly lossTaken: Loss | undefined;
}

const isApproval = (e: Entry): e is ApprovalEvent => (e as ApprovalEvent).status !== undefined;

/** Another writer moved the chain head (matched by name: a sink may bundle its own copy of the class). */
const isConflict = (e: unknown): boolean => (e as Error)?.name === 'ChainConflictError';

export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  return new Trail(options);
}

class Trail implements AuditTrail, ExitParticipant {
  readonly chain: string;
  readonly sink: AuditSink;
  readonly label: string;
  private readonly failureMode: FailureMode;
  private readonly maxQueue: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly stallTimeoutMs: number;
  private readonly redactOptions: RedactOptions | undefined;
  private readonly options: AuditTrailOptions;

  // The queue: entries[start..] are waiting; committed ones are cut off lazily.
  private entries: Entry[] = [];
  private start = 0;
  private enqueued = 0;
  private committed = 0;

  private head: ChainHead | undefined;
  private loss: Loss | undefined;
  private droppedTotal = 0;
  private refusedTotal = 0;
  private written = 0;
  private failures = 0;
  private healthy = true;
  private lastError: unknown;
  private closed = false;
  private warnedClosed = false;
  private closing: Promise<void> | undefined;

  private writer: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;

  constructor(options: AuditTrailOptions) {
    if (!options?.sink || typeof options.sink.append !== 'function' || typeof options.sink.head !== 'function') {
      throw new InvalidOptionsError('createAuditTrail: `sink` must implement head() and append()');
    }
    const mode = options.failureMode ?? 'failClosed';
    if (mode !== 'failClosed' && mode !== 'drop') {
      throw new InvalidOptionsError(`createAuditTrail: unknown failureMode '${String(mode)}' (failClosed | drop)`);
    }
    if (options.chain !== undefined && (typeof options.chain !== 'string' || options.chain === '')) {
      throw new InvalidOptionsError('createAuditTrail: `chain` must be a non-empty string');
    }
    this.options = options;
    this.sink = options.sink;
    this.chain = options.chain ?? 'default';
    this.label = `${this.sink.name} (chain '${this.chain}')`;
    this.failureMode = mode;
    const caller = 'createAuditTrail';
    this.maxQueue = intOption(caller, 'maxQueue', options.maxQueue, 100_000, 1);
    this.batchSize = intOption(caller, 'batchSize', options.batchSize, 2_000, 1);
    this.flushIntervalMs = intOption(caller, 'flushIntervalMs', options.flushIntervalMs, 25, 0);
    this.retryDelayMs = intOption(caller, 'retryDelayMs', options.retryDelayMs, 100, 1);
    this.stallTimeoutMs = intOption(caller, 'stallTimeoutMs', options.stallTimeoutMs, 5_000, 1);
    this.retryDelay = this.retryDelayMs;
    // Redaction runs in the writer, where unusable options would only show
    // as one incomplete record after another (every record without its
    // arguments). Try them once here instead.
    // (redact turns an object it cannot walk, e.g. with an isSecretKey that
    // is not a function, into '[unreadable]' rather than throwing.)
    let probe: unknown;
    try {
      probe = redactWithOrder({ probe: ['x'] }, options.redact).value;
    } catch (e) {
      probe = (e as Error)?.message ?? e;
    }
    if (typeof probe !== 'object' || probe === null) {
      throw new InvalidOptionsError(`createAuditTrail: \`redact\` options are unusable (${String(probe)})`);
    }
    this.redactOptions = options.redact;
    if (options.exitHandler !== false) watchExit(this);
  }

  // --- hot path -----------------------------------------------------------

  recordDecision(event: DecisionEvent): string | undefined {
    const queued = this.entries.length - this.start;
    if (this.closed || queued >= this.maxQueue || (!this.healthy && this.failureMode === 'failClosed')) {
      return this.lose();
    }
    this.entries.push(event);
    this.enqueued++;
    if (this.writer === undefined) this.schedule(queued + 1);
    return undefined;
  }

  recordApproval(event: ApprovalEvent): void {
    if (this.closed) {
      this.lose();
      return;
    }
    this.entries.push(event);
    this.enqueued++;
    if (this.writer === undefined) this.schedule(this.entries.length - this.start);
  }

  private lose(): string | undefined {
    const now = new Date().toISOString();
    if (this.loss) this.loss.until = now;
    else this.loss = { dropped: 0, refused: 0, since: now, until: now };
    if (this.failureMode === 'failClosed') {
      this.loss.refused++;
      this.refusedTotal++;
    } else {
      this.loss.dropped++;
      this.droppedTotal++;
    }
    if (this.closed) {
      if (!this.warnedClosed) {
        this.warnedClosed = true;
        process.emitWarning(`hexgate audit: records arrived after ${this.label} was closed and were not written`);
      }
    } else if (this.writer === undefined && this.retryTimer === undefined) {
      // The loss notice itself is work for the writer: it probes the sink.
      this.schedule(0);
    }
    return this.failureMode === 'failClosed' ? AUDIT_UNAVAILABLE : undefined;
  }

  private schedule(queued: number): void {
    if (this.retryTimer !== undefined || this.closed) return;
    if (queued >= this.batchSize) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.startWriter();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.startWriter();
      }, this.flushIntervalMs);
      this.timer.unref();
    }
  }

  // --- the single writer --------------------------------------------------

  private startWriter(): Promise<void> {
    if (this.writer) return this.writer;
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    const run = this.runWriter();
    this.writer = run;
    // Observed here so a failure the caller does not await is not an unhandled rejection.
    run.catch(() => {});
    return run;
  }

  private async runWriter(): Promise<void> {
    try {
      // Yield first: records enqueued in this same tick join the batch, and
      // the writer never runs inside a decision call.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.pending() > 0) {
        await this.writeBatch();
        // Let the application run between batches (SQLite writes are synchronous).
        if (this.pending() > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      this.writer = undefined;
    } catch (e) {
      this.writer = undefined;
      this.scheduleRetry();
      throw e;
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 5_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.pending() > 0) this.startWriter();
    }, delay);
    this.retryTimer.unref();
  }

  pending(): number {
    return this.entries.length - this.start + (this.loss ? 1 : 0);
  }

  private async writeBatch(): Promise<void> {
    // A sink can hang without failing (a dead database connection that never
    // answers). Treated as a failure once it has taken stallTimeoutMs:
    // failClosed then denies instead of letting decisions run with their
    // records held only in memory until the queue is full. The write keeps
    // going; if it completes, commit() makes the trail healthy again.
    const stall = setTimeout(() => {
      this.failed(new Error(`hexgate audit: a write to ${this.label} did not finish within ${this.stallTimeoutMs} ms`));
    }, this.stallTimeoutMs);
    stall.unref();
    try {
      await this.tryWriteBatch();
    } finally {
      clearTimeout(stall);
    }
  }

  private async tryWriteBatch(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.head) this.head = await this.sink.head(this.chain);
        const batch = this.build(this.head);
        if (batch.records.length === 0) return;
        if (this.sink.appendSync) this.sink.appendSync(batch.records);
        else await this.sink.append(batch.records);
        this.commit(batch);
        return;
      } catch (e) {
        if (!isConflict(e) || attempt >= MAX_CONFLICT_ATTEMPTS) this.fail(e);
        // Another writer moved the head: re-read it and chain after it, after
        // a short random pause so two writers do not keep colliding in step.
        this.head = undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  private fail(e: unknown): never {
    this.failed(e);
    throw e;
  }

  private failed(e: unknown): void {
    this.healthy = false;
    this.failures++;
    this.lastError = e;
    try {
      this.options.onError?.(e);
    } catch {
      // a listener must not break the writer
    }
  }

  /** Seals the next batch after `head`: the loss notice first, then up to `batchSize` queued entries. */
  private build(head: ChainHead): Batch {
    const count = Math.min(this.entries.length - this.start, this.batchSize);
    const records: AuditRecord[] = [];
    let seq = head.seq;
    let prev = head.hash;
    const lossTaken: Loss | undefined = this.loss ? { ...this.loss } : undefined;
    if (lossTaken) {
      const r = sealRecord(lossBody(lossTaken), this.chain, ++seq, prev);
      records.push(r);
      prev = r.hash;
    }
    for (let i = 0; i < count; i++) {
      const r = sealRecord(this.body(this.entries[this.start + i] as Entry), this.chain, ++seq, prev);
      records.push(r);
      prev = r.hash;
    }
    return { count, records, lossTaken };
  }

  private body(entry: Entry): RecordBody {
    try {
      return isApproval(entry) ? approvalBody(entry) : decisionBody(entry, this.redactOptions);
    } catch (e) {
      // Never let one odd event block the queue: record what is safe to record.
      const fallback = isApproval(entry)
        ? approvalBody({ ...entry, reason: undefined })
        : decisionBody({ ...entry, args: undefined, user: undefined }, this.redactOptions);
      return { ...fallback, reason: `${fallback.reason ?? ''} [audit: record incomplete: ${(e as Error)?.message}]` };
    }
  }

  /** Called only once the sink has taken the batch. */
  private commit({ count, records, lossTaken }: Batch): void {
    this.start += count;
    this.committed += count;
    if (this.start > 4096 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
    if (lossTaken && this.loss) {
      this.loss.dropped -= lossTaken.dropped;
      this.loss.refused -= lossTaken.refused;
      if (this.loss.dropped <= 0 && this.loss.refused <= 0) this.loss = undefined;
      else this.loss.since = lossTaken.until;
    }
    const last = records[records.length - 1] as AuditRecord;
    this.head = { seq: last.seq, hash: last.hash };
    this.written += records.length;
    this.healthy = true;
    this.retryDelay = this.retryDelayMs;
    try {
      this.options.onCommit?.({
        chain: this.chain,
        firstSeq: (records[0] as AuditRecord).seq,
        lastSeq: last.seq,
        lastHash: last.hash,
        count: records.length,
      });
    } catch {
      // a listener must not break the writer
    }
  }

  // --- flush / close ------------------------------------------------------

  async flush(): Promise<void> {
    const target = this.enqueued;
    while (this.committed < target || this.loss) {
      if (this.timer !== undefined) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      await this.startWriter();
    }
  }

  flushSync(): boolean {
    const appendSync = this.sink.appendSync?.bind(this.sink);
    // A writer on a synchronous sink is never in the middle of an append
    // between ticks (build, appendSync and commit run in one go), so it is
    // safe to write from here even while it waits for its next turn.
    if (!appendSync) return false;
    for (let attempt = 1; this.pending() > 0; ) {
      if (!this.head) {
        const h = this.sink.head(this.chain);
        if (h instanceof Promise) return false;
        this.head = h;
      }
      const batch = this.build(this.head);
      try {
        appendSync(batch.records);
      } catch (e) {
        if (!isConflict(e) || attempt++ >= MAX_CONFLICT_ATTEMPTS) throw e;
        this.head = undefined;
        continue;
      }
      this.commit(batch);
    }
    return true;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    // Closed first: from now on records are refused (or dropped), so the
    // flush below has a fixed amount of work and nothing is left behind.
    this.closed = true;
    let failure: unknown;
    try {
      await this.flush();
    } catch (e) {
      failure = e;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.timer = undefined;
    this.retryTimer = undefined;
    unwatchExit(this);
    const left = this.pending();
    if (this.options.closeSink !== false) await this.sink.close?.();
    if (failure !== undefined) {
      throw new Error(
        `hexgate audit: ${left} record(s) could not be written to ${this.label} before close: ${(failure as Error)?.message ?? failure}`,
        { cause: failure },
      );
    }
  }

  stats(): AuditTrailStats {
    const err = this.lastError;
    return {
      chain: this.chain,
      failureMode: this.failureMode,
      queued: this.entries.length - this.start,
      written: this.written,
      dropped: this.droppedTotal,
      refused: this.refusedTotal,
      unreportedLosses: this.loss ? this.loss.dropped + this.loss.refused : 0,
      failures: this.failures,
      healthy: this.healthy,
      lastError: err === undefined ? undefined : ((err as Error)?.message ?? String(err)),
      head: this.head,
      closed: this.closed,
    };
  }
}

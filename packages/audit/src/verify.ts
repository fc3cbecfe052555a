/**
 * Chain verification, shared by every store: records of a chain are fed in
 * `seq` order and each is checked against the one before (or the retention
 * anchor): contiguous `seq`, `prevHash` = previous `hash`, and `hash`
 * recomputed from the stored fields. The first problem of each chain is
 * reported; a chain's stored head also catches records cut off at the end.
 */
import { type AuditRecord, hashRecord } from './record.ts';
import { type ChainHead, EMPTY_HEAD } from './sink.ts';

export type ProblemKind =
  /** A record's fields no longer match its hash (edited in place). */
  | 'tampered'
  /** A record's prevHash does not match the record before it (a record before it was replaced or removed and re-hashed). */
  | 'relinked'
  /** One or more sequence numbers are absent. */
  | 'missing'
  /** The same or an earlier sequence number appears again. */
  | 'out-of-order'
  /** The chain ends before its stored head (records removed at the end). */
  | 'truncated'
  /** A stored row or line could not be read as a record. */
  | 'malformed';

export interface VerifyProblem {
  readonly chain: string;
  /** The first sequence number that fails (the first missing one for `missing`/`truncated`). */
  readonly seq: number;
  readonly kind: ProblemKind;
  readonly message: string;
  /** JSONL only: 1-based line number. */
  readonly line?: number;
}

export interface ChainReport {
  readonly chain: string;
  readonly ok: boolean;
  /** Records checked (up to the first problem). */
  readonly records: number;
  /** Retention anchor: records up to this seq were deleted on purpose (0 = none). */
  readonly anchorSeq: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  /** Hash of the last good record: publish it elsewhere to anchor the chain externally. */
  readonly lastHash: string;
  readonly problem?: VerifyProblem;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Records checked in all chains. */
  readonly records: number;
  readonly chains: readonly ChainReport[];
  /** The first problem found (chains in name order). */
  readonly problem?: VerifyProblem;
}

/** A problem with how a record is stored, found by the store (see ChainVerifier.push). */
export interface StoredProblem {
  readonly kind: ProblemKind;
  readonly message: string;
}

export class ChainVerifier {
  private expectSeq: number;
  private prevHash: string;
  private count = 0;
  private first: number | null = null;
  private problem: VerifyProblem | undefined;

  constructor(
    readonly chain: string,
    /** Retention anchor: the last deleted record, which the first stored one must follow. */
    private readonly anchor: ChainHead = EMPTY_HEAD,
  ) {
    this.expectSeq = anchor.seq + 1;
    this.prevHash = anchor.hash;
  }

  get failed(): boolean {
    return this.problem !== undefined;
  }

  /**
   * Checks the next record; returns false once the chain has failed (later
   * records are not checked). `stored`: what is wrong with how the record is
   * stored, if something is, though its values may still hash right: its
   * text is not exactly what the writer wrote (a duplicate key, an extra
   * field, reformatted JSON: another reader of the store may see other
   * data), or its row is out of place among the chain's rows.
   */
  push(record: AuditRecord, line?: number, stored?: StoredProblem): boolean {
    if (this.problem) return false;
    const at = line === undefined ? {} : { line };
    const seq = record.seq;
    if (typeof seq !== 'number' || !Number.isInteger(seq)) {
      return this.fail({ seq: this.expectSeq, kind: 'malformed', message: 'record without a valid seq', ...at });
    }
    if (seq > this.expectSeq) {
      const last = seq - 1;
      const range = last === this.expectSeq ? `${this.expectSeq}` : `${this.expectSeq}..${last}`;
      return this.fail({
        seq: this.expectSeq,
        kind: 'missing',
        message: `record(s) ${range} missing: the chain jumps from seq ${this.expectSeq - 1} to ${seq}`,
        ...at,
      });
    }
    if (seq < this.expectSeq) {
      return this.fail({
        seq,
        kind: 'out-of-order',
        message: `seq ${seq} appears after seq ${this.expectSeq - 1} (duplicated or reordered record)`,
        ...at,
      });
    }
    if (stored !== undefined) return this.fail({ seq, ...stored, ...at });
    let computed: string;
    try {
      computed = hashRecord(record);
    } catch (e) {
      return this.fail({ seq, kind: 'malformed', message: `record cannot be hashed: ${(e as Error).message}`, ...at });
    }
    if (computed !== record.hash) {
      return this.fail({
        seq,
        kind: 'tampered',
        message: `record ${seq} was modified: its fields hash to ${computed.slice(0, 12)}…, stored hash is ${String(record.hash).slice(0, 12)}…`,
        ...at,
      });
    }
    if (record.prevHash !== this.prevHash) {
      const before = seq - 1 === this.anchor.seq && this.anchor.seq > 0 ? 'the retention anchor' : `record ${seq - 1}`;
      return this.fail({
        seq,
        kind: 'relinked',
        message: `record ${seq} does not follow ${before}: prevHash ${record.prevHash.slice(0, 12)}… ≠ ${this.prevHash.slice(0, 12)}… (${before} was replaced, or records were removed and re-hashed)`,
        ...at,
      });
    }
    if (this.first === null) this.first = seq;
    this.count++;
    this.expectSeq = seq + 1;
    this.prevHash = record.hash;
    return true;
  }

  /** Reports a record that could not be read. */
  malformed(seq: number, message: string, line?: number): void {
    if (!this.problem) this.fail({ seq, kind: 'malformed', message, ...(line === undefined ? {} : { line }) });
  }

  /**
   * The store keeps a head per chain, but this chain has none (it was
   * deleted): records removed at its end can no longer be ruled out, so the
   * chain does not verify.
   */
  headMissing(): void {
    if (this.problem) return;
    this.fail({
      seq: this.expectSeq,
      kind: 'truncated',
      message: `chain '${this.chain}' has records but no stored head (it was deleted): records removed after seq ${this.expectSeq - 1} cannot be ruled out`,
    });
  }

  /** Ends the chain; `head` (when the store keeps one) catches records removed at the end. */
  finish(head?: ChainHead): ChainReport {
    if (!this.problem && head && head.seq > this.expectSeq - 1) {
      this.fail({
        seq: this.expectSeq,
        kind: 'truncated',
        message: `records ${this.expectSeq}..${head.seq} missing: the chain ends at seq ${this.expectSeq - 1} but its head is seq ${head.seq}`,
      });
    } else if (!this.problem && head && head.seq === this.expectSeq - 1 && head.hash !== this.prevHash) {
      this.fail({
        seq: head.seq,
        kind: 'relinked',
        message: `the last record (seq ${head.seq}) is not the one the chain head recorded (hash differs)`,
      });
    }
    return {
      chain: this.chain,
      ok: !this.problem,
      records: this.count,
      anchorSeq: this.anchor.seq,
      firstSeq: this.first,
      lastSeq: this.first === null ? null : this.expectSeq - 1,
      lastHash: this.prevHash,
      ...(this.problem ? { problem: this.problem } : {}),
    };
  }

  private fail(p: Omit<VerifyProblem, 'chain'>): false {
    this.problem = { chain: this.chain, ...p };
    return false;
  }
}

export function summarize(chains: ChainReport[]): VerifyReport {
  chains.sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0));
  const problem = chains.find((c) => c.problem)?.problem;
  return {
    ok: !problem,
    records: chains.reduce((n, c) => n + c.records, 0),
    chains,
    ...(problem ? { problem } : {}),
  };
}

/** An in-memory sink with switches to make it fail or stall, for trail tests. */
import type { AuditRecord } from '../record.ts';
import { type AuditSink, assertContinues, type ChainHead, EMPTY_HEAD } from '../sink.ts';

export class MemorySink implements AuditSink {
  readonly name = 'memory';
  readonly records: AuditRecord[] = [];
  /** Every append call, with the number of records. */
  readonly appends: number[] = [];
  /** While true, append throws. */
  down = false;
  /** While set, append waits for it. */
  gate: Promise<void> | undefined;
  closed = false;

  head(chain: string): ChainHead {
    const last = this.records.filter((r) => r.chain === chain).at(-1);
    return last ? { seq: last.seq, hash: last.hash } : EMPTY_HEAD;
  }

  async append(records: readonly AuditRecord[]): Promise<void> {
    this.appends.push(records.length);
    if (this.gate) await this.gate;
    if (this.down) throw new Error('sink is down');
    const first = records[0];
    if (first) assertContinues(this.head(first.chain), records);
    this.records.push(...records);
  }

  close(): void {
    this.closed = true;
  }
}

/** A promise with its resolve function, to hold a sink and release it. */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

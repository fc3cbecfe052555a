/**
 * The query side of an audit database (SQLite, PostgreSQL, or a JSONL file
 * loaded into memory): history, blocked calls, per-tool statistics, a user's
 * trail, export, retention and verification.
 */
import type { Outcome } from '@hexgate/core';
import type { AuditRecord, RecordKind } from './record.ts';
import type { VerifyReport } from './verify.ts';

export interface AuditQuery {
  readonly tool?: string;
  readonly userId?: string;
  readonly sessionId?: string;
  readonly agent?: string;
  /** The policy's outcome. */
  readonly outcome?: Outcome;
  /** What was done (differs from `outcome` in shadow mode). */
  readonly effective?: Outcome;
  /** Records where the user had this role, or this role decided. */
  readonly role?: string;
  readonly policyDigest?: string;
  readonly chain?: string;
  /** Default: every kind. */
  readonly kind?: RecordKind | readonly RecordKind[];
  /** Inclusive lower bound on the record time. */
  readonly since?: Date | string;
  /** Exclusive upper bound on the record time. */
  readonly until?: Date | string;
  /** Page size (default 50, at most 10,000). */
  readonly limit?: number;
  /** `nextCursor` of the previous page. */
  readonly cursor?: string;
  /** `desc` (newest first, default) or `asc` (in the order written). */
  readonly order?: 'asc' | 'desc';
}

export interface AuditPage {
  readonly records: readonly AuditRecord[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  readonly nextCursor?: string;
}

/** A window for `blocked`: `24h`, `7d`, `30d`, any `<n>m|h|d`, or milliseconds. */
export type Window = '24h' | '7d' | '30d' | (string & {}) | number;

export interface BlockedQuery extends Omit<AuditQuery, 'since' | 'effective' | 'kind'> {
  /** Default `24h`. */
  readonly last?: Window;
  /** Relative windows end now; set for reproducible results. */
  readonly now?: Date;
}

export interface ToolStats {
  readonly tool: string;
  /** Decisions. */
  readonly total: number;
  /** Counts by the policy's outcome. */
  readonly allow: number;
  readonly deny: number;
  readonly approvalRequired: number;
  /** Decisions whose effective outcome was deny (the call did not run). */
  readonly blocked: number;
  /** `blocked / total`. */
  readonly blockRate: number;
  readonly topDenyReasons: readonly { readonly reason: string; readonly count: number }[];
  /** Nearest-rank percentiles of policy evaluation time, in milliseconds. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Approval events by status. */
  readonly approvals: {
    readonly requested: number;
    readonly approved: number;
    readonly rejected: number;
    readonly expired: number;
  };
}

export type ExportFormat = 'csv' | 'json';

export interface CleanupOptions {
  /** Delete records older than this many days (> 0). */
  readonly olderThanDays: number;
  /** Default true: report what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  readonly now?: Date;
}

export interface CleanupChain {
  readonly chain: string;
  /** Records deleted (or that would be). */
  readonly count: number;
  /** The new retention anchor: records up to this seq are gone. */
  readonly throughSeq: number;
  readonly oldest: string | null;
  readonly newest: string | null;
}

export interface CleanupReport {
  readonly dryRun: boolean;
  readonly cutoff: string;
  readonly deleted: number;
  readonly chains: readonly CleanupChain[];
}

export interface ChainInfo {
  readonly chain: string;
  readonly headSeq: number;
  readonly headHash: string;
  readonly anchorSeq: number;
  readonly anchorHash: string;
}

export interface AuditStore {
  readonly name: string;
  /** Decision history (and approval / loss records), filtered and paginated. */
  list(query?: AuditQuery): Promise<AuditPage>;
  /** Decisions whose effective outcome was deny in the last 24h / 7d / 30d. */
  blocked(query?: BlockedQuery): Promise<AuditPage>;
  /** Per-tool statistics over the matching decisions, busiest tool first. */
  stats(query?: Omit<AuditQuery, 'limit' | 'cursor' | 'order'>): Promise<ToolStats[]>;
  /** Everything one user did, in the order written. */
  trail(userId: string, query?: Omit<AuditQuery, 'userId'>): Promise<AuditPage>;
  /** Streams every matching record (all pages) to `write`; returns the count. */
  export(
    query: Omit<AuditQuery, 'limit' | 'cursor'>,
    format: ExportFormat,
    write: (chunk: string) => void | Promise<void>,
  ): Promise<number>;
  /** Deletes the oldest records, keeping the chain verifiable through an anchor. Dry run unless `dryRun: false`. */
  cleanup(options: CleanupOptions): Promise<CleanupReport>;
  verify(options?: { readonly chain?: string }): Promise<VerifyReport>;
  /** Chain heads and anchors (publish a head hash elsewhere to anchor the trail externally). */
  chains(): Promise<ChainInfo[]>;
  close(): Promise<void>;
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `24h` / `7d` / `30m` / `2w` / milliseconds -> milliseconds. */
export function parseWindow(window: Window): number {
  if (typeof window === 'number' && Number.isFinite(window) && window > 0) return window;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$/i.exec(String(window));
  if (!m) throw new RangeError(`invalid time window '${String(window)}' (use e.g. 30m, 24h, 7d, 2w)`);
  return Number(m[1]) * (UNIT_MS[(m[2] as string).toLowerCase()] as number);
}

/** A Date, an ISO date/time, or a relative window (`7d` = seven days ago) -> ISO-8601. */
export function toIsoTime(value: Date | string, now: Date = new Date()): string {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError('invalid date');
    return value.toISOString();
  }
  if (/^\s*\d+(?:\.\d+)?\s*[mhdw]\s*$/i.test(value)) return new Date(now.getTime() - parseWindow(value)).toISOString();
  const t = new Date(value);
  if (Number.isNaN(t.getTime()))
    throw new RangeError(`invalid date '${value}' (use ISO-8601 like 2025-01-31 or a window like 7d)`);
  return t.toISOString();
}

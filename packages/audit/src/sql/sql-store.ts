/**
 * Queries shared by the SQLite and PostgreSQL stores. The SQL is written
 * once with `?` placeholders and kept to what both engines run the same way
 * (window functions, CASE, integer division); the few differences (role
 * lookup inside the JSON list of roles, locking a chain) come from the
 * dialect.
 */
import { csvHeader, csvRow } from '../export-format.ts';
import { type AuditRecord, GENESIS_HASH } from '../record.ts';
import type {
  AuditPage,
  AuditQuery,
  AuditStore,
  BlockedQuery,
  ChainInfo,
  CleanupChain,
  CleanupOptions,
  CleanupReport,
  ExportFormat,
  ToolStats,
} from '../store.ts';
import { parseWindow, toIsoTime } from '../store.ts';
import { type ChainReport, ChainVerifier, summarize, type VerifyReport } from '../verify.ts';
import { CHAINS_TABLE, COLUMN_LIST, rowToRecord, storedFormProblem, TABLE } from './columns.ts';

export type Row = Record<string, unknown>;

/** What a store needs from its database. */
export interface SqlDb {
  readonly dialect: 'sqlite' | 'postgres';
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs `fn` in one transaction holding the write lock on `chain`'s head. */
  writeTransaction<T>(chain: string, fn: (tx: SqlExec) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface SqlExec {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

const MAX_LIMIT = 10_000;
const VERIFY_PAGE = 5_000;

interface Where {
  readonly sql: string;
  readonly params: unknown[];
}

function n(v: unknown): number {
  return v === null || v === undefined ? 0 : Number(v);
}

function encodeCursor(id: number): string {
  return Buffer.from(`id:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^id:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new RangeError(`invalid cursor '${cursor}'`);
  return Number(m[1]);
}

export class SqlAuditStore implements AuditStore {
  constructor(
    readonly name: string,
    protected readonly db: SqlDb,
  ) {}

  private where(q: AuditQuery, extra: string[] = [], extraParams: unknown[] = []): Where {
    const conds: string[] = [...extra];
    const params: unknown[] = [...extraParams];
    const eq = (col: string, v: unknown) => {
      if (v === undefined || v === null || v === '') return;
      conds.push(`${col} = ?`);
      params.push(v);
    };
    eq('tool', q.tool);
    eq('user_id', q.userId);
    eq('session_id', q.sessionId);
    eq('agent', q.agent);
    eq('outcome', q.outcome);
    eq('effective', q.effective);
    eq('policy_digest', q.policyDigest);
    eq('chain', q.chain);
    if (q.role) {
      conds.push(
        this.db.dialect === 'postgres'
          ? '(deciding_role = ? OR roles @> jsonb_build_array(?::text))'
          : '(deciding_role = ? OR EXISTS (SELECT 1 FROM json_each(roles) WHERE value = ?))',
      );
      params.push(q.role, q.role);
    }
    if (q.kind !== undefined) {
      const kinds = typeof q.kind === 'string' ? [q.kind] : [...q.kind];
      conds.push(`kind IN (${kinds.map(() => '?').join(', ')})`);
      params.push(...kinds);
    }
    if (q.since !== undefined) {
      conds.push('ts >= ?');
      params.push(toIsoTime(q.since));
    }
    if (q.until !== undefined) {
      conds.push('ts < ?');
      params.push(toIsoTime(q.until));
    }
    return { sql: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
  }

  async list(query: AuditQuery = {}): Promise<AuditPage> {
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 50)), MAX_LIMIT);
    const asc = query.order === 'asc';
    const extra: string[] = [];
    const extraParams: unknown[] = [];
    if (query.cursor) {
      extra.push(asc ? 'id > ?' : 'id < ?');
      extraParams.push(decodeCursor(query.cursor));
    }
    const w = this.where(query, extra, extraParams);
    const rows = await this.db.all(
      `SELECT id, ${COLUMN_LIST} FROM ${TABLE} ${w.sql} ORDER BY id ${asc ? 'ASC' : 'DESC'} LIMIT ?`,
      [...w.params, limit + 1],
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const records = page.map(rowToRecord);
    const last = page[page.length - 1];
    return more && last ? { records, nextCursor: encodeCursor(Number(last.id)) } : { records };
  }

  async blocked(query: BlockedQuery = {}): Promise<AuditPage> {
    const { last = '24h', now = new Date(), ...rest } = query;
    const since = new Date(now.getTime() - parseWindow(last));
    return this.list({ ...rest, since, kind: 'decision', effective: 'deny' });
  }

  async trail(userId: string, query: Omit<AuditQuery, 'userId'> = {}): Promise<AuditPage> {
    return this.list({ order: 'asc', ...query, userId });
  }

  async stats(query: Omit<AuditQuery, 'limit' | 'cursor' | 'order'> = {}): Promise<ToolStats[]> {
    const { kind: _kind, ...q } = query;
    const decisions = this.where(q, ["kind = 'decision'"]);
    const counts = await this.db.all(
      `SELECT tool, COUNT(*) AS total,
        SUM(CASE WHEN outcome = 'allow' THEN 1 ELSE 0 END) AS allow_n,
        SUM(CASE WHEN outcome = 'deny' THEN 1 ELSE 0 END) AS deny_n,
        SUM(CASE WHEN outcome = 'approval_required' THEN 1 ELSE 0 END) AS approval_n,
        SUM(CASE WHEN effective = 'deny' THEN 1 ELSE 0 END) AS blocked_n
       FROM ${TABLE} ${decisions.sql} GROUP BY tool`,
      decisions.params,
    );
    const timed = this.where(q, ["kind = 'decision'", 'evaluation_ms IS NOT NULL']);
    // Nearest-rank percentile: the ceil(p * n)-th smallest value.
    const percentiles = await this.db.all(
      `WITH r AS (
         SELECT tool, evaluation_ms AS e,
           ROW_NUMBER() OVER (PARTITION BY tool ORDER BY evaluation_ms) AS rn,
           COUNT(*) OVER (PARTITION BY tool) AS cnt
         FROM ${TABLE} ${timed.sql})
       SELECT tool,
         MAX(CASE WHEN rn = (cnt * 50 + 99) / 100 THEN e END) AS p50,
         MAX(CASE WHEN rn = (cnt * 99 + 99) / 100 THEN e END) AS p99
       FROM r GROUP BY tool`,
      timed.params,
    );
    const denies = this.where(q, ["kind = 'decision'", "outcome = 'deny'"]);
    const reasons = await this.db.all(
      `WITH c AS (SELECT tool, reason, COUNT(*) AS cnt FROM ${TABLE} ${denies.sql} GROUP BY tool, reason),
       r AS (SELECT tool, reason, cnt, ROW_NUMBER() OVER (PARTITION BY tool ORDER BY cnt DESC, reason) AS rk FROM c)
       SELECT tool, reason, cnt FROM r WHERE rk <= 5 ORDER BY tool, rk`,
      denies.params,
    );
    const approvalsWhere = this.where(q, ["kind = 'approval'"]);
    const approvals = await this.db.all(
      `SELECT tool, approval_status, COUNT(*) AS cnt FROM ${TABLE} ${approvalsWhere.sql} GROUP BY tool, approval_status`,
      approvalsWhere.params,
    );
    const pct = new Map(percentiles.map((r) => [String(r.tool), r]));
    const out = new Map<string, ToolStats & { approvals: Record<string, number> }>();
    for (const r of counts) {
      const tool = String(r.tool);
      const total = n(r.total);
      const p = pct.get(tool);
      out.set(tool, {
        tool,
        total,
        allow: n(r.allow_n),
        deny: n(r.deny_n),
        approvalRequired: n(r.approval_n),
        blocked: n(r.blocked_n),
        blockRate: total === 0 ? 0 : n(r.blocked_n) / total,
        topDenyReasons: [],
        p50Ms: p?.p50 == null ? null : Number(p.p50),
        p99Ms: p?.p99 == null ? null : Number(p.p99),
        approvals: { requested: 0, approved: 0, rejected: 0, expired: 0 },
      });
    }
    for (const r of reasons) {
      const s = out.get(String(r.tool));
      if (s)
        (s.topDenyReasons as { reason: string; count: number }[]).push({ reason: String(r.reason), count: n(r.cnt) });
    }
    for (const r of approvals) {
      const s = out.get(String(r.tool));
      const status = String(r.approval_status);
      if (s && status in s.approvals) s.approvals[status] = n(r.cnt);
    }
    return [...out.values()].sort((a, b) => b.total - a.total || (a.tool < b.tool ? -1 : 1));
  }

  async export(
    query: Omit<AuditQuery, 'limit' | 'cursor'>,
    format: ExportFormat,
    write: (chunk: string) => void | Promise<void>,
  ): Promise<number> {
    if (format !== 'csv' && format !== 'json') throw new RangeError(`unknown export format '${String(format)}'`);
    let count = 0;
    let cursor: string | undefined;
    await write(format === 'csv' ? csvHeader() : '[');
    do {
      const page = await this.list({ order: 'asc', ...query, limit: 1_000, ...(cursor ? { cursor } : {}) });
      let chunk = '';
      for (const r of page.records) {
        chunk += format === 'csv' ? csvRow(r) : `${count === 0 ? '\n' : ',\n'}${JSON.stringify(r)}`;
        count++;
      }
      if (chunk) await write(chunk);
      cursor = page.nextCursor;
    } while (cursor);
    if (format === 'json') await write(count === 0 ? ']\n' : '\n]\n');
    return count;
  }

  async chains(): Promise<ChainInfo[]> {
    return (await this.chainRows()).map(({ known: _known, ...info }) => info);
  }

  private async chainRows(): Promise<(ChainInfo & { known: boolean })[]> {
    // Chains with records but no head row (lost bookkeeping) are listed too, so verify sees them.
    const rows = await this.db.all(
      `SELECT x.chain AS chain, c.head_seq, c.head_hash, c.anchor_seq, c.anchor_hash
       FROM (SELECT chain FROM ${CHAINS_TABLE} UNION SELECT DISTINCT chain FROM ${TABLE}) x
       LEFT JOIN ${CHAINS_TABLE} c ON c.chain = x.chain`,
    );
    return rows
      .map((r) => ({
        chain: String(r.chain),
        headSeq: n(r.head_seq),
        headHash: r.head_hash == null ? GENESIS_HASH : String(r.head_hash),
        anchorSeq: n(r.anchor_seq),
        anchorHash: r.anchor_hash == null ? GENESIS_HASH : String(r.anchor_hash),
        // A chain with records but no head row lost its bookkeeping: verify reports it.
        known: r.head_seq != null,
      }))
      .sort((a, b) => (a.chain < b.chain ? -1 : 1));
  }

  async verify(options: { readonly chain?: string } = {}): Promise<VerifyReport> {
    const chains = (await this.chainRows()).filter((c) => options.chain === undefined || c.chain === options.chain);
    const reports: ChainReport[] = [];
    for (const info of chains) {
      const verifier = new ChainVerifier(info.chain, { seq: info.anchorSeq, hash: info.anchorHash });
      let after = -1;
      // Queries list rows by id ("in the order written"): within a chain the
      // writer assigns ids in seq order, so an id out of that order means
      // rows were swapped or re-inserted, though each still hashes right.
      let lastId = Number.NEGATIVE_INFINITY;
      for (;;) {
        const rows = await this.db.all(
          `SELECT id, ${COLUMN_LIST} FROM ${TABLE} WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?`,
          [info.chain, after, VERIFY_PAGE],
        );
        for (const row of rows) {
          let record: AuditRecord;
          try {
            record = rowToRecord(row);
          } catch (e) {
            verifier.malformed(Number(row.seq), `row cannot be read: ${(e as Error).message}`);
            break;
          }
          const id = Number(row.id);
          const form = storedFormProblem(row);
          const stored =
            form !== undefined
              ? { kind: 'tampered' as const, message: `record ${record.seq} was edited: ${form}` }
              : id <= lastId
                ? {
                    kind: 'out-of-order' as const,
                    message: `record ${record.seq} is stored before the record it follows (row id ${id} ≤ ${lastId}): rows were swapped or re-inserted`,
                  }
                : undefined;
          lastId = id;
          if (!verifier.push(record, undefined, stored)) break;
        }
        if (verifier.failed || rows.length < VERIFY_PAGE) break;
        after = Number(rows[rows.length - 1]?.seq);
      }
      // The writer creates the head row in the transaction of the chain's
      // first records and never deletes it: records without one mean the
      // chains table was edited, and only the head catches a cut-off end.
      if (!info.known) verifier.headMissing();
      reports.push(verifier.finish(info.known ? { seq: info.headSeq, hash: info.headHash } : undefined));
    }
    return summarize(reports);
  }

  async cleanup(options: CleanupOptions): Promise<CleanupReport> {
    const days = options?.olderThanDays;
    if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0) {
      throw new RangeError('cleanup: olderThanDays must be a number of days > 0');
    }
    const dryRun = options.dryRun !== false;
    const now = options.now ?? new Date();
    const cutoff = new Date(now.getTime() - days * 86_400_000).toISOString();
    const results: CleanupChain[] = [];
    for (const info of await this.chains()) {
      const plan = async (tx: SqlExec): Promise<CleanupChain | undefined> => {
        // Only a prefix of the chain can go: everything before the first record
        // that is newer than the cutoff, so what remains is still one chain.
        const [keep] = await tx.all(`SELECT MIN(seq) AS s FROM ${TABLE} WHERE chain = ? AND ts >= ?`, [
          info.chain,
          cutoff,
        ]);
        const [max] = await tx.all(`SELECT MAX(seq) AS s FROM ${TABLE} WHERE chain = ?`, [info.chain]);
        const through = keep?.s != null ? n(keep.s) - 1 : n(max?.s);
        if (through <= info.anchorSeq) return undefined;
        const [stat] = await tx.all(
          `SELECT COUNT(*) AS cnt, MIN(ts) AS oldest, MAX(ts) AS newest FROM ${TABLE} WHERE chain = ? AND seq <= ?`,
          [info.chain, through],
        );
        if (!stat || n(stat.cnt) === 0) return undefined;
        const iso = (v: unknown) => (v == null ? null : v instanceof Date ? v.toISOString() : String(v));
        return {
          chain: info.chain,
          count: n(stat.cnt),
          throughSeq: through,
          oldest: iso(stat.oldest),
          newest: iso(stat.newest),
        };
      };
      if (dryRun) {
        const p = await plan(this.db);
        if (p) results.push(p);
        continue;
      }
      const done = await this.db.writeTransaction(info.chain, async (tx) => {
        const p = await plan(tx);
        if (!p) return undefined;
        const [last] = await tx.all(`SELECT hash FROM ${TABLE} WHERE chain = ? AND seq = ?`, [
          info.chain,
          p.throughSeq,
        ]);
        if (!last) {
          throw new Error(
            `cleanup: chain '${info.chain}' has no record ${p.throughSeq} to anchor on; run verify, nothing was deleted`,
          );
        }
        await tx.all(`DELETE FROM ${TABLE} WHERE chain = ? AND seq <= ?`, [info.chain, p.throughSeq]);
        // The anchor keeps the chain verifiable: the first remaining record must follow it.
        await tx.all(`UPDATE ${CHAINS_TABLE} SET anchor_seq = ?, anchor_hash = ?, anchor_ts = ? WHERE chain = ?`, [
          p.throughSeq,
          String(last.hash),
          now.toISOString(),
          info.chain,
        ]);
        return p;
      });
      if (done) results.push(done);
    }
    return { dryRun, cutoff, deleted: results.reduce((s, c) => s + c.count, 0), chains: results };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

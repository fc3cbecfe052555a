/**
 * SQLite audit store and sink, on Node's built-in `node:sqlite` (a real
 * SQLite compiled into Node: nothing native to build or download). WAL mode
 * lets queries read while the writer appends; each batch is one `BEGIN
 * IMMEDIATE` transaction of prepared inserts, which both makes it fast
 * (one fsync per batch) and serializes writers from several processes.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { InvalidOptionsError } from '@hexgate/core';
import { intOption } from '../options.ts';
import { type AuditRecord, GENESIS_HASH } from '../record.ts';
import { type AuditSink, assertContinues, type ChainHead } from '../sink.ts';
import { CHAINS_TABLE, COLUMN_LIST, COLUMNS, recordToRow, rowToHead, TABLE, writeRow } from './columns.ts';
import { type Row, SqlAuditStore, type SqlDb, type SqlExec } from './sql-store.ts';

export interface SqliteAuditOptions {
  /** Database file (created if missing), or `:memory:`. */
  readonly path: string;
  /**
   * `full` (default): a committed batch survives a power loss.
   * `normal`: survives a process crash, not necessarily a power loss; faster.
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long a writer waits for another process's write lock (default 5,000 ms). */
  readonly busyTimeoutMs?: number;
  /**
   * Also index (tool, ts) and (user_id, ts), for fast per-tool and per-user
   * queries on large trails. Off by default: each index costs about a quarter
   * of the insert throughput. Indexes once created stay.
   */
  readonly queryIndexes?: boolean;
}

const QUERY_INDEXES = `
CREATE INDEX IF NOT EXISTS ${TABLE}_tool_ts ON ${TABLE} (tool, ts);
CREATE INDEX IF NOT EXISTS ${TABLE}_user_ts ON ${TABLE} (user_id, ts);
`;

// 32 rows x 26 columns = 832 parameters, well under SQLite's limit of 32,766.
const ROWS_PER_INSERT = 32;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  id INTEGER PRIMARY KEY,
  chain TEXT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  decision_id TEXT,
  ts TEXT NOT NULL,
  agent TEXT,
  tool TEXT,
  user_id TEXT,
  session_id TEXT,
  roles TEXT NOT NULL,
  deciding_role TEXT,
  outcome TEXT,
  effective TEXT,
  mode TEXT,
  reason TEXT,
  violations TEXT NOT NULL,
  args TEXT,
  args_hash TEXT,
  user_attributes TEXT,
  policy_digest TEXT,
  evaluation_ms REAL,
  approval_status TEXT,
  approver TEXT,
  lost TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  UNIQUE (chain, seq)
);
CREATE INDEX IF NOT EXISTS ${TABLE}_ts ON ${TABLE} (ts);
CREATE TABLE IF NOT EXISTS ${CHAINS_TABLE} (
  chain TEXT PRIMARY KEY,
  head_seq INTEGER NOT NULL,
  head_hash TEXT NOT NULL,
  anchor_seq INTEGER NOT NULL DEFAULT 0,
  anchor_hash TEXT NOT NULL,
  anchor_ts TEXT
);
`;

function openDatabase(path: string): DatabaseSync {
  // Loaded on first use, so PostgreSQL-only users never touch node:sqlite.
  const sqlite = process.getBuiltinModule?.('node:sqlite') as typeof import('node:sqlite') | undefined;
  if (!sqlite?.DatabaseSync) {
    throw new Error(
      '@hexgate/audit: node:sqlite is not available; SQLite needs Node >= 22.13 (or --experimental-sqlite)',
    );
  }
  return new sqlite.DatabaseSync(path);
}

class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, StatementSync>();
  // One transaction at a time on this connection, even across awaits.
  private lock: Promise<unknown> = Promise.resolve();

  constructor(readonly db: DatabaseSync) {}

  prepare(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  allSync(sql: string, params: readonly unknown[] = []): Row[] {
    return this.prepare(sql).all(...(params as (string | number | null)[])) as Row[];
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return this.allSync(sql, params);
  }

  writeTransaction<T>(_chain: string, fn: (tx: SqlExec) => Promise<T>): Promise<T> {
    const run = this.lock.then(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
    this.lock = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

export class SqliteAudit extends SqlAuditStore implements AuditSink {
  private readonly sqlite: SqliteDb;
  private readonly insert: StatementSync;
  /** Inserts ROWS_PER_INSERT rows in one statement: far fewer calls into SQLite per batch. */
  private readonly insertMany: StatementSync;
  private readonly flat: (string | number | null)[] = new Array(ROWS_PER_INSERT * COLUMNS.length);
  private readonly getHead: StatementSync;
  private readonly newChain: StatementSync;
  private readonly setHead: StatementSync;

  constructor(options: SqliteAuditOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw new InvalidOptionsError('sqliteAudit: `path` is required (a file name or :memory:)');
    }
    const sync = options.synchronous ?? 'full';
    if (sync !== 'full' && sync !== 'normal') {
      throw new InvalidOptionsError(`sqliteAudit: \`synchronous\` must be 'full' or 'normal' (got '${String(sync)}')`);
    }
    const busy = intOption('sqliteAudit', 'busyTimeoutMs', options.busyTimeoutMs, 5_000, 0);
    const db = new SqliteDb(openDatabase(options.path));
    super(`sqlite:${options.path}`, db);
    this.sqlite = db;
    db.db.exec(`PRAGMA busy_timeout = ${busy}`);
    db.db.exec('PRAGMA journal_mode = WAL');
    db.db.exec(`PRAGMA synchronous = ${sync.toUpperCase()}`);
    db.db.exec(SCHEMA);
    if (options.queryIndexes) db.db.exec(QUERY_INDEXES);
    const row = `(${COLUMNS.map(() => '?').join(', ')})`;
    this.insert = db.db.prepare(`INSERT INTO ${TABLE} (${COLUMN_LIST}) VALUES ${row}`);
    this.insertMany = db.db.prepare(
      `INSERT INTO ${TABLE} (${COLUMN_LIST}) VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => row).join(', ')}`,
    );
    this.getHead = db.db.prepare(`SELECT head_seq, head_hash FROM ${CHAINS_TABLE} WHERE chain = ?`);
    this.newChain = db.db.prepare(
      `INSERT INTO ${CHAINS_TABLE} (chain, head_seq, head_hash, anchor_seq, anchor_hash) VALUES (?, 0, ?, 0, ?)`,
    );
    this.setHead = db.db.prepare(`UPDATE ${CHAINS_TABLE} SET head_seq = ?, head_hash = ? WHERE chain = ?`);
  }

  /** The underlying `DatabaseSync`, for your own read queries. */
  get database(): DatabaseSync {
    return this.sqlite.db;
  }

  head(chain: string): ChainHead {
    return rowToHead(this.getHead.get(chain) as Row | undefined);
  }

  append(records: readonly AuditRecord[]): void {
    this.appendSync(records);
  }

  appendSync(records: readonly AuditRecord[]): void {
    const first = records[0];
    const last = records[records.length - 1];
    if (!first || !last) return;
    const db = this.sqlite.db;
    db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.getHead.get(first.chain) as Row | undefined;
      if (!row) this.newChain.run(first.chain, GENESIS_HASH, GENESIS_HASH);
      assertContinues(rowToHead(row), records);
      const flat = this.flat;
      const width = COLUMNS.length;
      let i = 0;
      for (; i + ROWS_PER_INSERT <= records.length; i += ROWS_PER_INSERT) {
        for (let k = 0; k < ROWS_PER_INSERT; k++) writeRow(records[i + k] as AuditRecord, flat, k * width);
        this.insertMany.run(...flat);
      }
      for (; i < records.length; i++) this.insert.run(...recordToRow(records[i] as AuditRecord));
      this.setHead.run(last.seq, last.hash, last.chain);
      db.exec('COMMIT');
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw e;
    }
  }

  /** Imports records as they are (e.g. a JSONL file into memory for queries); no chain checks. */
  importRecords(records: Iterable<AuditRecord>): number {
    const db = this.sqlite.db;
    const heads = new Map<string, ChainHead>();
    let count = 0;
    db.exec('BEGIN');
    try {
      for (const r of records) {
        this.insert.run(...recordToRow(r));
        heads.set(r.chain, { seq: r.seq, hash: r.hash });
        count++;
      }
      for (const [chain, head] of heads) {
        if (!this.getHead.get(chain)) this.newChain.run(chain, GENESIS_HASH, GENESIS_HASH);
        this.setHead.run(head.seq, head.hash, chain);
      }
      db.exec('COMMIT');
    } catch (e) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw e;
    }
    return count;
  }
}

/** Opens (creating if needed) a SQLite audit database: a sink for `createAuditTrail` and a query store. */
export function sqliteAudit(options: SqliteAuditOptions | string): SqliteAudit {
  return new SqliteAudit(typeof options === 'string' ? { path: options } : options);
}

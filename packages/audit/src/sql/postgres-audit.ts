/**
 * PostgreSQL audit store and sink, on `pg` (node-postgres: pure JavaScript,
 * the most used PostgreSQL client for Node, with a connection pool). A batch
 * is one transaction: lock the chain's head row, insert every record with a
 * single `json_to_recordset` statement (the whole batch is one parameter),
 * move the head, commit. The row lock serializes writers from any number of
 * processes, so they cannot fork a chain.
 */
import { createRequire } from 'node:module';
import type * as pg from 'pg';
import { intOption } from '../options.ts';
import { type AuditRecord, GENESIS_HASH } from '../record.ts';
import { type AuditSink, assertContinues, type ChainHead } from '../sink.ts';
import { CHAINS_TABLE, COLUMN_LIST, COLUMNS, rowToHead, TABLE } from './columns.ts';
import { type Row, SqlAuditStore, type SqlDb, type SqlExec } from './sql-store.ts';

export interface PostgresAuditOptions {
  /** `postgres://user:pass@host:5432/db` (ignored when `pool` is given). */
  readonly connectionString?: string;
  /** Your own pool; it is not closed by `close()`. */
  readonly pool?: pg.Pool;
  /** Size of the pool created from `connectionString` (default 4). */
  readonly poolSize?: number;
}

const COLUMN_TYPES: Record<(typeof COLUMNS)[number], string> = {
  chain: 'text',
  seq: 'bigint',
  kind: 'text',
  decision_id: 'text',
  ts: 'timestamptz',
  agent: 'text',
  tool: 'text',
  user_id: 'text',
  session_id: 'text',
  roles: 'jsonb',
  deciding_role: 'text',
  outcome: 'text',
  effective: 'text',
  mode: 'text',
  reason: 'text',
  violations: 'jsonb',
  args: 'text',
  args_hash: 'text',
  user_attributes: 'text',
  policy_digest: 'text',
  evaluation_ms: 'double precision',
  approval_status: 'text',
  approver: 'text',
  lost: 'text',
  prev_hash: 'text',
  hash: 'text',
};

/**
 * `pg` is loaded on first use: SQLite/JSONL users (and the CLI on a SQLite
 * file) never load it. It is CommonJS, hence `require`.
 */
let pgModule: typeof pg | undefined;
function loadPg(): typeof pg {
  pgModule ??= createRequire(import.meta.url)('pg') as typeof pg;
  return pgModule;
}

const NOT_NULL = new Set(['chain', 'seq', 'kind', 'ts', 'roles', 'violations', 'prev_hash', 'hash']);

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS ${TABLE} (
    id BIGSERIAL PRIMARY KEY,
    ${COLUMNS.map((c) => `${c} ${COLUMN_TYPES[c]}${NOT_NULL.has(c) ? ' NOT NULL' : ''}`).join(',\n    ')},
    UNIQUE (chain, seq)
  )`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_ts ON ${TABLE} (ts)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_tool_ts ON ${TABLE} (tool, ts)`,
  `CREATE INDEX IF NOT EXISTS ${TABLE}_user_ts ON ${TABLE} (user_id, ts)`,
  `CREATE TABLE IF NOT EXISTS ${CHAINS_TABLE} (
    chain TEXT PRIMARY KEY,
    head_seq BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    anchor_seq BIGINT NOT NULL DEFAULT 0,
    anchor_hash TEXT NOT NULL,
    anchor_ts TIMESTAMPTZ
  )`,
];

// Arbitrary constant: serializes schema creation between processes.
const SCHEMA_LOCK = 0x68657867;

// The whole batch travels as ONE json parameter (serialized natively by
// JSON.stringify), and json_to_recordset types the columns server-side.
// `json`, not `jsonb`: jsonb would reject \u0000 in text; the JSON-text columns
// (args, user attributes, loss notice) arrive as strings, so nothing is
// unescaped into a NUL.
const INSERT = `WITH ins AS (
  INSERT INTO ${TABLE} (${COLUMN_LIST})
  SELECT ${COLUMN_LIST} FROM json_to_recordset($1::json) AS x(${COLUMNS.map((c) => `${c} ${COLUMN_TYPES[c]}`).join(', ')})
)
UPDATE ${CHAINS_TABLE} SET head_seq = $2, head_hash = $3 WHERE chain = $4`;

const nullableJson = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** One record as a json_to_recordset row (keys = column names). */
function toJsonRow(r: AuditRecord): Record<(typeof COLUMNS)[number], unknown> {
  return {
    chain: r.chain,
    seq: r.seq,
    kind: r.kind,
    decision_id: r.decisionId,
    ts: r.timestamp,
    agent: r.agent,
    tool: r.tool,
    user_id: r.userId,
    session_id: r.sessionId,
    roles: r.roles,
    deciding_role: r.decidingRole,
    outcome: r.outcome,
    effective: r.effective,
    mode: r.mode,
    reason: r.reason,
    violations: r.violations,
    args: nullableJson(r.args),
    args_hash: r.argsHash,
    user_attributes: nullableJson(r.userAttributes),
    policy_digest: r.policyDigest,
    evaluation_ms: r.evaluationMs,
    approval_status: r.approvalStatus,
    approver: r.approver,
    lost: nullableJson(r.lost),
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

// Creates the chain's row if needed and locks it; RETURNING gives the stored head.
const LOCK_HEAD = `INSERT INTO ${CHAINS_TABLE} (chain, head_seq, head_hash, anchor_seq, anchor_hash)
VALUES ($1, 0, $2, 0, $2)
ON CONFLICT (chain) DO UPDATE SET chain = EXCLUDED.chain
RETURNING head_seq, head_hash`;

const placeholderCache = new Map<string, string>();
/** `?` placeholders (shared SQL) -> `$1, $2, ...`. */
function numbered(sql: string): string {
  let out = placeholderCache.get(sql);
  if (out === undefined) {
    let i = 0;
    out = sql.replace(/\?/g, () => `$${++i}`);
    placeholderCache.set(sql, out);
  }
  return out;
}

class PgDb implements SqlDb {
  readonly dialect = 'postgres' as const;
  private ready: Promise<void> | undefined;

  constructor(
    readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
  ) {}

  /** Creates the tables once (retried after a failure). */
  ensureSchema(): Promise<void> {
    this.ready ??= this.createSchema().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  private async createSchema(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      for (const sql of SCHEMA) await client.query(sql);
      await client.query('COMMIT');
      client.release();
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(e as Error);
      throw e;
    }
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    await this.ensureSchema();
    const result = await this.pool.query(numbered(sql), params as unknown[]);
    return result.rows as Row[];
  }

  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ensureSchema();
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (e) {
      let broken: Error | undefined;
      await client.query('ROLLBACK').catch((r: Error) => {
        broken = r;
      });
      // A connection that cannot even roll back is discarded, not reused.
      client.release(broken);
      throw e;
    }
  }

  writeTransaction<T>(chain: string, fn: (tx: SqlExec) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query(`SELECT 1 FROM ${CHAINS_TABLE} WHERE chain = $1 FOR UPDATE`, [chain]);
      return fn({
        all: async (sql, params = []) => (await client.query(numbered(sql), params as unknown[])).rows as Row[],
      });
    });
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}

export class PostgresAudit extends SqlAuditStore implements AuditSink {
  private readonly pg: PgDb;

  constructor(options: PostgresAuditOptions) {
    const poolSize = intOption('postgresAudit', 'poolSize', options?.poolSize, 4, 1);
    const pool =
      options?.pool ??
      new (loadPg().Pool)({
        connectionString: options?.connectionString,
        max: poolSize,
        // Idle connections must not keep a finished process alive.
        allowExitOnIdle: true,
      });
    // Idle clients that lose their server emit 'error'; without a listener that crashes the process.
    if (!options?.pool) pool.on('error', () => {});
    const db = new PgDb(pool, !options?.pool);
    super(`postgres:${describe(options)}`, db);
    this.pg = db;
  }

  /** The pool, for your own queries. */
  get pool(): pg.Pool {
    return this.pg.pool;
  }

  /** Creates the tables if needed (done lazily by every other call too). */
  init(): Promise<void> {
    return this.pg.ensureSchema();
  }

  async head(chain: string): Promise<ChainHead> {
    const rows = await this.pg.all(`SELECT head_seq, head_hash FROM ${CHAINS_TABLE} WHERE chain = ?`, [chain]);
    return rowToHead(rows[0]);
  }

  async append(records: readonly AuditRecord[]): Promise<void> {
    const first = records[0];
    const last = records[records.length - 1];
    if (!first || !last) return;
    const batch = JSON.stringify(records.map(toJsonRow));
    await this.pg.withClient(async (client) => {
      const locked = await client.query(LOCK_HEAD, [first.chain, GENESIS_HASH]);
      assertContinues(rowToHead(locked.rows[0] as Row), records);
      await client.query(INSERT, [batch, last.seq, last.hash, last.chain]);
    });
  }
}

function describe(options: PostgresAuditOptions | undefined): string {
  if (!options?.connectionString) return 'pool';
  try {
    const u = new URL(options.connectionString);
    // Never print the password.
    return `//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return '//(connection string)';
  }
}

/** Connects to a PostgreSQL audit database (tables created on first use): a sink and a query store. */
export function postgresAudit(options: PostgresAuditOptions | string): PostgresAudit {
  return new PostgresAudit(typeof options === 'string' ? { connectionString: options } : options);
}

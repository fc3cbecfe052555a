/**
 * The table layout shared by the SQLite and PostgreSQL stores, and the exact
 * mapping between a record and a row. Arguments, user attributes and loss
 * notices are stored as JSON text (escaped, so NUL characters and lone
 * surrogates survive); reading a row back gives the very record that was
 * hashed.
 */
import { type AuditRecord, fieldJson } from '../record.ts';
import { type ChainHead, EMPTY_HEAD } from '../sink.ts';

export const TABLE = 'hexgate_audit';
export const CHAINS_TABLE = 'hexgate_audit_chains';

/** Stored columns in insert order (`id` is added by the database). */
export const COLUMNS = [
  'chain',
  'seq',
  'kind',
  'decision_id',
  'ts',
  'agent',
  'tool',
  'user_id',
  'session_id',
  'roles',
  'deciding_role',
  'outcome',
  'effective',
  'mode',
  'reason',
  'violations',
  'args',
  'args_hash',
  'user_attributes',
  'policy_digest',
  'evaluation_ms',
  'approval_status',
  'approver',
  'lost',
  'prev_hash',
  'hash',
] as const;

export const COLUMN_LIST = COLUMNS.join(', ');

/** JSON text of a structured field; SQL NULL for null. */
function json(r: AuditRecord, field: 'args' | 'userAttributes' | 'lost'): string | null {
  return r[field] === null || r[field] === undefined ? null : fieldJson(r, field);
}

/** Values in `COLUMNS` order. */
export function recordToRow(r: AuditRecord): (string | number | null)[] {
  const row: (string | number | null)[] = new Array(COLUMNS.length);
  writeRow(r, row, 0);
  return row;
}

/** Writes a record's values into `out` from `offset` (multi-row inserts fill one flat array). */
export function writeRow(r: AuditRecord, out: (string | number | null)[], offset: number): void {
  let i = offset;
  out[i++] = r.chain;
  out[i++] = r.seq;
  out[i++] = r.kind;
  out[i++] = r.decisionId;
  out[i++] = r.timestamp;
  out[i++] = r.agent;
  out[i++] = r.tool;
  out[i++] = r.userId;
  out[i++] = r.sessionId;
  out[i++] = fieldJson(r, 'roles');
  out[i++] = r.decidingRole;
  out[i++] = r.outcome;
  out[i++] = r.effective;
  out[i++] = r.mode;
  out[i++] = r.reason;
  out[i++] = fieldJson(r, 'violations');
  out[i++] = json(r, 'args');
  out[i++] = r.argsHash;
  out[i++] = json(r, 'userAttributes');
  out[i++] = r.policyDigest;
  out[i++] = r.evaluationMs;
  out[i++] = r.approvalStatus;
  out[i++] = r.approver;
  out[i++] = json(r, 'lost');
  out[i++] = r.prevHash;
  out[i] = r.hash;
}

/** A row of the chains table (`head_seq`, `head_hash`) -> the stored head; no row: an empty chain. */
export function rowToHead(row: Record<string, unknown> | undefined): ChainHead {
  return row ? { seq: Number(row.head_seq), hash: String(row.head_hash) } : EMPTY_HEAD;
}

function parsed(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? JSON.parse(v) : v;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'number' ? v : Number(v);
}

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

/** A row (SQLite: JSON as text; PostgreSQL: jsonb parsed, bigint as text, timestamptz as Date) -> record. */
export function rowToRecord(row: Record<string, unknown>): AuditRecord {
  const ts = row.ts;
  return {
    chain: String(row.chain),
    seq: Number(row.seq),
    kind: row.kind as AuditRecord['kind'],
    decisionId: str(row.decision_id),
    timestamp: ts instanceof Date ? ts.toISOString() : String(ts),
    agent: str(row.agent),
    tool: str(row.tool),
    userId: str(row.user_id),
    sessionId: str(row.session_id),
    roles: (parsed(row.roles) ?? []) as string[],
    decidingRole: str(row.deciding_role),
    outcome: str(row.outcome) as AuditRecord['outcome'],
    effective: str(row.effective) as AuditRecord['effective'],
    mode: str(row.mode) as AuditRecord['mode'],
    reason: str(row.reason),
    violations: (parsed(row.violations) ?? []) as string[],
    args: parsed(row.args),
    argsHash: str(row.args_hash),
    userAttributes: parsed(row.user_attributes),
    policyDigest: str(row.policy_digest),
    evaluationMs: num(row.evaluation_ms),
    approvalStatus: str(row.approval_status) as AuditRecord['approvalStatus'],
    approver: str(row.approver),
    lost: parsed(row.lost) as AuditRecord['lost'],
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
}

/** Columns holding JSON text: exactly `JSON.stringify` of the value, SQL NULL for null (never the text `null`). */
const JSON_TEXT_COLUMNS = ['args', 'user_attributes', 'lost', 'roles', 'violations'] as const;

/**
 * Why a row is not stored exactly as the writer stored it, if it is not.
 * The hash covers parsed values, so JSON text edited into another spelling
 * of the same value (a duplicate key: SQLite's json_extract reads the first,
 * JSON.parse the last; added whitespace) would still hash the same, while a
 * SQL reader of the column sees something else. Verify calls this per row.
 */
export function storedFormProblem(row: Record<string, unknown>): string | undefined {
  for (const column of JSON_TEXT_COLUMNS) {
    const text = row[column];
    // NULL, or jsonb the driver already parsed (PostgreSQL roles/violations).
    if (typeof text !== 'string') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue; // unreadable: reading the row reports it
    }
    if (value === null || JSON.stringify(value) !== text) {
      return `column ${column} holds JSON text the writer did not store (${value === null ? "'null' instead of NULL" : 'duplicate keys or reformatted'})`;
    }
  }
  const ms = row.evaluation_ms;
  if (ms !== null && ms !== undefined && typeof ms !== 'number') return 'column evaluation_ms holds text, not a number';
  return undefined;
}

/**
 * The audit record: one row of the trail, the unit that is hashed and
 * chained. Every sink stores exactly these fields and gives them back
 * unchanged, so `verify` can recompute each hash from what was stored.
 */
import type { ApprovalEvent, ApprovalStatus, DecisionEvent, EnforcementMode, Outcome } from '@hexgate/core';
import { canonicalJson, sha256Hex } from '@hexgate/core';
import { type RedactOptions, redact } from './redact.ts';

export type RecordKind = 'decision' | 'approval' | 'loss';

/** Counts of records that could not be taken, written once the sink works again. */
export interface LossNotice {
  /** Decisions/approvals dropped (mode `drop`, queue full). */
  readonly dropped: number;
  /** Decisions refused and therefore denied (mode `failClosed`, queue full or sink failing). */
  readonly refused: number;
  /** First and last time a record was lost in this stretch (ISO-8601). */
  readonly since: string;
  readonly until: string;
}

export interface AuditRecord {
  /** Chain id: records of one chain are hashed in sequence (default `default`). */
  readonly chain: string;
  /** 1, 2, 3... without gaps within a chain. */
  readonly seq: number;
  readonly kind: RecordKind;
  /** The decision this record is about (null for loss notices). */
  readonly decisionId: string | null;
  /** ISO-8601: when the decision was made / the approval event happened. */
  readonly timestamp: string;
  readonly agent: string | null;
  readonly tool: string | null;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly roles: readonly string[];
  readonly decidingRole: string | null;
  /** What the policy decided. */
  readonly outcome: Outcome | null;
  /** What was done (differs from `outcome` only in shadow mode). */
  readonly effective: Outcome | null;
  readonly mode: EnforcementMode | null;
  /** Decision reason; for approvals, the approver's / handler's reason. */
  readonly reason: string | null;
  readonly violations: readonly string[];
  /** Redacted, size-capped arguments (null when the arguments were rejected or not given). */
  readonly args: unknown;
  /** Approvals: sha256 of the canonical JSON of the exact arguments approved. */
  readonly argsHash: string | null;
  /** Redacted user attributes. */
  readonly userAttributes: unknown;
  readonly policyDigest: string | null;
  /** Policy evaluation time in milliseconds (nanosecond precision). */
  readonly evaluationMs: number | null;
  readonly approvalStatus: ApprovalStatus | null;
  readonly approver: string | null;
  /** Only for `loss` records. */
  readonly lost: LossNotice | null;
  /** `hash` of the previous record of the chain (or of the retention anchor / genesis). */
  readonly prevHash: string;
  /** sha256 hex of `canonicalRecordJson(record)` (every field but `hash`). */
  readonly hash: string;
}

/** The record before it gets its place in the chain. */
export type RecordBody = Omit<AuditRecord, 'chain' | 'seq' | 'prevHash' | 'hash'>;

/** `prevHash` of the first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Field names in code-unit order: the order `canonicalJson` would put them in. */
const HASHED_FIELDS = [
  'agent',
  'approvalStatus',
  'approver',
  'args',
  'argsHash',
  'chain',
  'decidingRole',
  'decisionId',
  'effective',
  'evaluationMs',
  'kind',
  'lost',
  'mode',
  'outcome',
  'policyDigest',
  'prevHash',
  'reason',
  'roles',
  'seq',
  'sessionId',
  'timestamp',
  'tool',
  'userAttributes',
  'userId',
  'violations',
] as const satisfies readonly Exclude<keyof AuditRecord, 'hash'>[];

const PREFIXES = HASHED_FIELDS.map((k, i) => `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`);

/**
 * Canonical JSON of every field but `hash`: byte-for-byte what
 * `canonicalJson({...record, hash: undefined-removed})` gives (a test checks
 * it), but without sorting the 25 top-level keys for every record.
 */
export function canonicalRecordJson(record: Omit<AuditRecord, 'hash'>): string {
  let out = '';
  for (let i = 0; i < HASHED_FIELDS.length; i++) {
    const v = (record as unknown as Record<string, unknown>)[HASHED_FIELDS[i] as string];
    out += PREFIXES[i] + (v === null || typeof v !== 'object' ? jsonScalar(v) : canonicalJson(v));
  }
  return `${out}}`;
}

function jsonScalar(v: unknown): string {
  if (v === undefined) return 'null';
  return JSON.stringify(v);
}

export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  return sha256Hex(canonicalRecordJson(record));
}

/** Gives a body its place in a chain and seals it. */
export function sealRecord(body: RecordBody, chain: string, seq: number, prevHash: string): AuditRecord {
  const unsealed = { ...body, chain, seq, prevHash };
  return { ...unsealed, hash: hashRecord(unsealed) };
}

/**
 * Text stored in plain columns must survive a database round trip exactly,
 * or the hash would no longer match: PostgreSQL rejects NUL characters and
 * every store encodes UTF-8, which cannot carry a lone surrogate. Both become
 * U+FFFD before hashing (JSON columns are stored escaped and need nothing).
 */
export function cleanText(s: string): string {
  // ES2024 string methods (Node >= 20); the project's lib setting is ES2023.
  const w = s as string & { isWellFormed(): boolean; toWellFormed(): string };
  let t = w.isWellFormed() ? s : w.toWellFormed();
  if (t.includes('\u0000')) t = t.replaceAll('\u0000', '\uFFFD');
  return t;
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Times are stored as `Date#toISOString()` text (UTC, milliseconds): the one
 * form that survives a PostgreSQL timestamptz round trip unchanged.
 */
export function isoTime(ts: string | undefined): string {
  if (typeof ts === 'string' && ISO_MS.test(ts)) return ts;
  const t = typeof ts === 'string' ? new Date(ts) : new Date(Number.NaN);
  return Number.isNaN(t.getTime()) ? new Date().toISOString() : t.toISOString();
}

function text(s: string | undefined | null): string | null {
  return typeof s === 'string' ? cleanText(s) : null;
}

function textList(list: readonly unknown[] | undefined): string[] {
  return Array.isArray(list) ? list.map((x) => cleanText(String(x))) : [];
}

/** Milliseconds rounded to the nanosecond: a short, exact decimal in every store. */
function ms(n: number | undefined): number | null {
  return typeof n === 'number' && Number.isFinite(n) ? Math.round(n * 1e6) / 1e6 : null;
}

function redactedOrNull(v: unknown, options: RedactOptions | undefined): unknown {
  return v === undefined || v === null ? null : redact(v, options);
}

export function decisionBody(event: DecisionEvent, options?: RedactOptions): RecordBody {
  const d = event.decision;
  return {
    kind: 'decision',
    decisionId: d.id,
    timestamp: isoTime(d.timestamp),
    agent: text(d.agentName),
    tool: text(d.tool),
    userId: text(d.userId),
    sessionId: text(d.sessionId),
    roles: textList(d.roles),
    decidingRole: text(d.decidingRole),
    outcome: d.outcome,
    effective: d.effective,
    mode: d.mode,
    reason: text(d.reason),
    violations: textList(d.violations),
    args: redactedOrNull(event.args, options),
    argsHash: null,
    userAttributes: redactedOrNull(event.user?.attributes, options),
    policyDigest: text(d.policyDigest),
    evaluationMs: ms(d.evaluationMs),
    approvalStatus: null,
    approver: null,
    lost: null,
  };
}

export function approvalBody(event: ApprovalEvent): RecordBody {
  const d = event.decision;
  return {
    kind: 'approval',
    decisionId: d.id,
    timestamp: isoTime(event.timestamp),
    agent: text(d.agentName),
    tool: text(d.tool),
    userId: text(d.userId),
    sessionId: text(d.sessionId),
    roles: textList(d.roles),
    decidingRole: text(d.decidingRole),
    outcome: d.outcome,
    effective: d.effective,
    mode: d.mode,
    reason: text(event.reason ?? null),
    violations: textList(d.violations),
    // The approval event carries only the hash of the arguments, by design.
    args: null,
    argsHash: text(event.argsHash),
    userAttributes: null,
    policyDigest: text(d.policyDigest),
    evaluationMs: null,
    approvalStatus: event.status,
    approver: text(event.approver ?? null),
    lost: null,
  };
}

export function lossBody(lost: LossNotice): RecordBody {
  const parts = [
    lost.dropped > 0 ? `${lost.dropped} dropped (queue full)` : '',
    lost.refused > 0 ? `${lost.refused} refused and denied (audit unavailable)` : '',
  ].filter(Boolean);
  return {
    kind: 'loss',
    decisionId: null,
    timestamp: new Date().toISOString(),
    agent: null,
    tool: null,
    userId: null,
    sessionId: null,
    roles: [],
    decidingRole: null,
    outcome: null,
    effective: null,
    mode: null,
    reason: `audit records not written: ${parts.join(', ')}, between ${lost.since} and ${lost.until}`,
    violations: [],
    args: null,
    argsHash: null,
    userAttributes: null,
    policyDigest: null,
    evaluationMs: null,
    approvalStatus: null,
    approver: null,
    lost,
  };
}

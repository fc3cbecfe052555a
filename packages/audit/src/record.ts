/**
 * The audit record: one row of the trail, the unit that is hashed and
 * chained. Every sink stores exactly these fields and gives them back
 * unchanged, so `verify` can recompute each hash from what was stored.
 */
import { hash } from 'node:crypto';
import type { ApprovalEvent, ApprovalStatus, DecisionEvent, EnforcementMode, Outcome } from '@hexgate/core';
import { canonicalJson, type RedactOptions, redactWithOrder } from '@hexgate/core';

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

/** JSON text to store for a structured field: any valid JSON will do, verify re-canonicalizes it. */
export function fieldJson(
  record: AuditRecord,
  field: 'args' | 'userAttributes' | 'roles' | 'violations' | 'lost',
): string {
  return JSON.stringify(record[field]);
}

// One-shot hashing (Node >= 21.7) skips creating a Hash object per record.
const sha256 = (text: string): string => hash('sha256', text);

/**
 * Set on bodies whose nested values (args, user attributes) came out of
 * `redact` already in canonical key order: then one native JSON.stringify of
 * the record with its fields in canonical order IS the canonical JSON.
 */
const ORDERED = Symbol('hexgate.audit.canonicalOrder');
type Flagged = { [ORDERED]?: boolean };

/**
 * Canonical JSON of every field but `hash`: byte-for-byte what core's
 * `canonicalJson` gives for the record without its hash (a test checks it),
 * without sorting the 25 top-level keys for every record.
 */
export function canonicalRecordJson(record: Omit<AuditRecord, 'hash'>): string {
  let out = '';
  for (let i = 0; i < HASHED_FIELDS.length; i++) {
    const v = record[HASHED_FIELDS[i] as keyof Omit<AuditRecord, 'hash'>];
    out +=
      PREFIXES[i] +
      (v === null || v === undefined ? 'null' : typeof v === 'object' ? canonicalJson(v) : JSON.stringify(v));
  }
  return `${out}}`;
}

/** The record as an object whose keys are in canonical order (the literal fixes the order). */
function inFieldOrder(r: Omit<AuditRecord, 'hash'>): Record<string, unknown> {
  return {
    agent: r.agent,
    approvalStatus: r.approvalStatus,
    approver: r.approver,
    args: r.args,
    argsHash: r.argsHash,
    chain: r.chain,
    decidingRole: r.decidingRole,
    decisionId: r.decisionId,
    effective: r.effective,
    evaluationMs: r.evaluationMs,
    kind: r.kind,
    lost: r.lost,
    mode: r.mode,
    outcome: r.outcome,
    policyDigest: r.policyDigest,
    prevHash: r.prevHash,
    reason: r.reason,
    roles: r.roles,
    seq: r.seq,
    sessionId: r.sessionId,
    timestamp: r.timestamp,
    tool: r.tool,
    userAttributes: r.userAttributes,
    userId: r.userId,
    violations: r.violations,
  };
}

export function hashRecord(record: Omit<AuditRecord, 'hash'>): string {
  return sha256(canonicalRecordJson(record));
}

/** Gives a body its place in a chain and seals it. */
export function sealRecord(body: RecordBody, chain: string, seq: number, prevHash: string): AuditRecord {
  // One object of one shape for every record (no intermediate spreads): this runs per record.
  const record = {
    chain,
    seq,
    kind: body.kind,
    decisionId: body.decisionId,
    timestamp: body.timestamp,
    agent: body.agent,
    tool: body.tool,
    userId: body.userId,
    sessionId: body.sessionId,
    roles: body.roles,
    decidingRole: body.decidingRole,
    outcome: body.outcome,
    effective: body.effective,
    mode: body.mode,
    reason: body.reason,
    violations: body.violations,
    args: body.args,
    argsHash: body.argsHash,
    userAttributes: body.userAttributes,
    policyDigest: body.policyDigest,
    evaluationMs: body.evaluationMs,
    approvalStatus: body.approvalStatus,
    approver: body.approver,
    lost: body.lost,
    prevHash,
    hash: '',
  };
  const ordered = (body as Flagged)[ORDERED] === true;
  record.hash = sha256(ordered ? JSON.stringify(inFieldOrder(record)) : canonicalRecordJson(record));
  return record;
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

interface Redacted {
  value: unknown;
  /** Every object key came out sorted (no integer-like keys, which JS always lists first). */
  ordered: boolean;
}

function redactedOrNull(v: unknown, options: RedactOptions | undefined): Redacted {
  return v === undefined || v === null ? { value: null, ordered: true } : redactWithOrder(v, options);
}

export function decisionBody(event: DecisionEvent, options?: RedactOptions): RecordBody {
  const d = event.decision;
  const args = redactedOrNull(event.args, options);
  const attributes = redactedOrNull(event.user?.attributes, options);
  const body: RecordBody & Flagged = {
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
    args: args.value,
    argsHash: null,
    userAttributes: attributes.value,
    policyDigest: text(d.policyDigest),
    evaluationMs: ms(d.evaluationMs),
    approvalStatus: null,
    approver: null,
    lost: null,
  };
  if (args.ordered && attributes.ordered) body[ORDERED] = true;
  return body;
}

/** An approval event: its decision's record, with the approval's own time, reason and fields. */
export function approvalBody(event: ApprovalEvent): RecordBody {
  // Approvals are rare and human-paced: the decision's body is built and then overridden.
  const base = decisionBody({ decision: event.decision, args: undefined, user: undefined });
  const body: RecordBody & Flagged = {
    ...base,
    kind: 'approval',
    timestamp: isoTime(event.timestamp),
    reason: text(event.reason),
    // The approval event carries only the hash of the arguments, by design.
    argsHash: text(event.argsHash),
    evaluationMs: null,
    approvalStatus: event.status,
    approver: text(event.approver),
    // No nested objects but roles/violations (string lists): canonical as is.
    [ORDERED]: true,
  };
  return body;
}

export function lossBody(lost: LossNotice): RecordBody {
  const parts = [
    lost.dropped > 0 ? `${lost.dropped} dropped (queue full)` : '',
    lost.refused > 0 ? `${lost.refused} refused and denied (audit unavailable)` : '',
  ].filter(Boolean);
  const body: RecordBody & Flagged = {
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
    // Key order of `lost` fixed here: dropped, refused, since, until (sorted).
    lost: { dropped: lost.dropped, refused: lost.refused, since: lost.since, until: lost.until },
    [ORDERED]: true,
  };
  return body;
}

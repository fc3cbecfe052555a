/**
 * CSV and JSON renderings of audit records, for export and the CLI.
 * JSON export keeps every field, so an export can be re-verified. CSV cells
 * that a spreadsheet would run as a formula (starting with = + - @ tab CR)
 * are prefixed with `'`: arguments and reasons come from a model and a user,
 * and must never execute in the reviewer's spreadsheet.
 */
import type { AuditRecord } from './record.ts';

export const CSV_COLUMNS = [
  'chain',
  'seq',
  'kind',
  'timestamp',
  'decisionId',
  'agent',
  'tool',
  'userId',
  'sessionId',
  'roles',
  'decidingRole',
  'outcome',
  'effective',
  'mode',
  'reason',
  'violations',
  'args',
  'argsHash',
  'userAttributes',
  'policyDigest',
  'evaluationMs',
  'approvalStatus',
  'approver',
  'lost',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditRecord)[];

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function csvCell(v: unknown): string {
  let s = cellText(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(r: AuditRecord): string {
  return `${CSV_COLUMNS.map((c) => csvCell(r[c])).join(',')}\r\n`;
}

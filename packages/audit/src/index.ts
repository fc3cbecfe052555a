/**
 * @hexgate/audit public API: anything exported here is public and
 * versioned; everything else is internal.
 */

export {
  AUDIT_UNAVAILABLE,
  type AuditCommit,
  type AuditTrail,
  type AuditTrailOptions,
  type AuditTrailStats,
  createAuditTrail,
  type FailureMode,
} from './audit-trail.ts';
export {
  AUDIT_OPTIONS,
  AUDIT_USAGE,
  type CommandIO,
  runAuditCommand,
  runParsedAuditCommand,
} from './cli/run-audit-command.ts';
export { CSV_COLUMNS } from './export-format.ts';
export {
  JsonlAudit,
  type JsonlAuditOptions,
  jsonlAudit,
  loadJsonl,
  readJsonl,
  verifyJsonl,
} from './jsonl/jsonl-audit.ts';
export { type AuditDbKind, type OpenAuditStoreOptions, openAuditStore, parseAuditUrl } from './open-store.ts';
export {
  type AuditRecord,
  canonicalRecordJson,
  GENESIS_HASH,
  hashRecord,
  type LossNotice,
  type RecordKind,
} from './record.ts';
export { type AuditSink, assertContinues, ChainConflictError, type ChainHead } from './sink.ts';
export { PostgresAudit, type PostgresAuditOptions, postgresAudit } from './sql/postgres-audit.ts';
export { SqliteAudit, type SqliteAuditOptions, sqliteAudit } from './sql/sqlite-audit.ts';
export type {
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
  Window,
} from './store.ts';
export type {
  ChainReport,
  ProblemKind,
  VerifyProblem,
  VerifyReport,
} from './verify.ts';

import { expect, it } from 'vitest';
import * as api from './index.ts';

// The public surface is deliberate: adding or removing an export must show up
// here and be reviewed like any API change.
it('exports exactly these runtime names', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "AUDIT_OPTIONS",
      "AUDIT_UNAVAILABLE",
      "AUDIT_USAGE",
      "CSV_COLUMNS",
      "ChainConflictError",
      "GENESIS_HASH",
      "JsonlAudit",
      "PostgresAudit",
      "SqliteAudit",
      "assertContinues",
      "canonicalRecordJson",
      "createAuditTrail",
      "hashRecord",
      "jsonlAudit",
      "loadJsonl",
      "openAuditStore",
      "parseAuditUrl",
      "postgresAudit",
      "readJsonl",
      "runAuditCommand",
      "runParsedAuditCommand",
      "sqliteAudit",
      "verifyJsonl",
    ]
  `);
});

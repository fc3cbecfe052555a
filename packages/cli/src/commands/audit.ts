/**
 * `hexgate audit list|blocked|stats|trail|export|cleanup|verify`: queries and
 * verification of the decision audit trail. The commands live in
 * @hexgate/audit (`runParsedAuditCommand`); this module only declares their
 * options for the runner and hands over the parsed values and the streams.
 */
import { AUDIT_OPTIONS, AUDIT_USAGE, runParsedAuditCommand } from '@hexgate/audit';
import { defineCommand } from '../command.ts';

export default defineCommand({
  help: AUDIT_USAGE,
  options: AUDIT_OPTIONS,
  run: (input, ctx) =>
    runParsedAuditCommand(input, { stdout: ctx.io.stdout, stderr: ctx.io.stderr, env: ctx.io.env, cwd: ctx.io.cwd }),
});

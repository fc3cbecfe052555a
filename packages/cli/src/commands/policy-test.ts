/**
 * `hexgate policy test`: either one decision (`<policy> --tool T ...`) or
 * policy unit tests (`<tests.yaml>...`, files whose top level has `policy:`
 * and `cases:`). Which one is chosen by --tool and by the file's content.
 */
import { createEnforcer } from '@hexgate/core';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { decisionJson, printDecision } from '../format-decision.ts';
import { expandTestFiles, runTestFiles } from '../policy-tests/run-test-files.ts';
import { sniffTestFile } from '../policy-tests/test-file.ts';
import { argsForDisplay, callOptions, callOptionsHelp, prepareCall } from '../single-call.ts';

const help = `Usage:
  hexgate policy test <policy> --tool T [--role R ...] [--user-id U] [--args JSON] [--ctx JSON] [--json]
  hexgate policy test <tests.yaml|glob>... [--json]

With --tool: decides one call against <policy> (a file or a directory) and
prints ✓ ALLOW, ⚠ APPROVAL_REQUIRED or ✗ DENY with the deciding role, the
reason and each violated constraint.

Without --tool: runs policy unit tests. A test file is YAML with policy:
(relative to the test file) and cases: [{ name, user?, tool, args?, expect,
violations? }]. Prints one line per failing case, then "N passed, N failed".

Options:
${callOptionsHelp}

Exit codes: one call: 0 allow or approval_required, 1 deny, 2 usage or load error.
            tests:    0 all passed, 1 a case failed or a test file is invalid, 2 usage.

Examples:
  hexgate policy test policy.yaml --tool refund_order --user-id bea --role billing --args '{"amount": 200, "currency": "USD"}'
  hexgate policy test 'policies/*.tests.yaml'
`;

export default defineCommand({
  help,
  options: callOptions,
  async run({ values, positionals }, ctx) {
    if (values.tool !== undefined) {
      for (const p of positionals.slice(0, 1)) {
        if ((await sniffTestFile(ctx.resolve(p))) === 'test-file')
          throw new UsageError(`${p} is a test file (it has policy: and cases:); run it without --tool`);
      }
      const prepared = await prepareCall(values, positionals, ctx);
      if (typeof prepared === 'number') return prepared;
      const enforcer = createEnforcer({ policy: prepared.policy });
      const { decision, args } = enforcer.decide(prepared.call);
      if (values.json === true) {
        ctx.out(
          JSON.stringify(
            decisionJson(decision, args ?? null, prepared.call.user, prepared.warnings, prepared.policyPath),
            null,
            2,
          ),
        );
      } else {
        printDecision(ctx, decision, argsForDisplay(args, prepared.argsText), prepared.call.user);
      }
      return decision.outcome === 'deny' ? EXIT.failure : EXIT.ok;
    }
    for (const option of ['role', 'user-id', 'args', 'ctx'] as const) {
      if (values[option] !== undefined)
        throw new UsageError(`--${option} describes one call and needs --tool; test files set it per case`);
    }
    if (positionals.length === 0)
      throw new UsageError('missing <tests.yaml> (or <policy> --tool T): what should be tested?');
    const files = expandTestFiles(ctx, positionals);
    return runTestFiles(ctx, files, { json: values.json === true });
  },
});

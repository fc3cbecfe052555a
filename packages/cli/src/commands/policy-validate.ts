/**
 * `hexgate policy validate <file-or-dir>...`: loads each policy with core's
 * strict loader, prints every error with its position, then lints what
 * loaded. Errors fail (exit 1); warnings fail only with --strict.
 */
import { formatIssue } from '@hexgate/core';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { type LintWarning, lintPolicy } from '../lint/lint-policy.ts';
import { loadPolicyFor } from '../policy-loading.ts';

const help = `Usage: hexgate policy validate <file-or-dir>... [--strict] [--json]

Loads each policy (a YAML file or a directory of role files) with the strict
loader and prints every error as file:line:col: message, then lint warnings
as file:line:col: warning: message [lint-id].

Options:
  --strict   exit 1 on lint warnings too
  --json     print one JSON object: { ok, results: [{ path, valid, roles, tools, errors, warnings }] }
  -h, --help show this help

Lints: no-default-role, default-role-broader, shadowed-grant,
constraint-never-holds, constraint-always-holds, constraints-contradict,
ignored-constraints, expensive-regex, redundant-deny.

Exit codes: 0 valid (warnings allowed), 1 errors (or warnings with --strict), 2 usage.

Example:
  hexgate policy validate examples/policies/customer-support.yaml
`;

interface Result {
  path: string;
  valid: boolean;
  roles: number;
  tools: number;
  errors: { file: string; line: number; column: number; message: string; hint?: string }[];
  warnings: LintWarning[];
}

export default defineCommand({
  help,
  options: {
    strict: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values, positionals }, ctx) {
    if (positionals.length === 0) throw new UsageError('missing <file-or-dir>: which policy should be validated?');
    const { style } = ctx;
    const results: Result[] = [];
    for (const path of positionals) {
      const loaded = await loadPolicyFor(ctx, path);
      if (!loaded.ok) {
        results.push({ path, valid: false, roles: 0, tools: 0, errors: [...loaded.issues], warnings: [] });
        continue;
      }
      const warnings = lintPolicy(loaded.policy).map((w) => ({ ...w, file: ctx.display(w.file) }));
      results.push({
        path,
        valid: true,
        roles: loaded.policy.roleNames.length,
        tools: loaded.policy.toolNames.length,
        errors: [],
        warnings,
      });
    }
    const failed = results.some((r) => !r.valid || (values.strict === true && r.warnings.length > 0));

    if (values.json === true) {
      ctx.out(JSON.stringify({ ok: !failed, results }, null, 2));
      return failed ? EXIT.failure : EXIT.ok;
    }
    for (const r of results) {
      for (const issue of r.errors) ctx.out(formatIssue(issue));
      for (const w of r.warnings)
        ctx.out(`${w.file}:${w.line}:${w.column}: ${style.yellow('warning')}: ${w.message} [${w.id}]`);
      const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
      if (!r.valid) {
        ctx.out(`${style.red('✗')} ${r.path}: ${plural(r.errors.length, 'error')}`);
      } else if (values.strict === true && r.warnings.length > 0) {
        ctx.out(`${style.red('✗')} ${r.path}: ${plural(r.warnings.length, 'warning')} (--strict)`);
      } else {
        const note = r.warnings.length > 0 ? ` (${plural(r.warnings.length, 'warning')})` : '';
        ctx.out(`${style.green('✓')} ${r.path}: ${plural(r.roles, 'role')}, ${plural(r.tools, 'tool')}${note}`);
      }
    }
    return failed ? EXIT.failure : EXIT.ok;
  },
});

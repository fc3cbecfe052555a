/**
 * Runs policy unit test files: each case is decided by a real enforcer on
 * the policy the file names, and compared with `expect` (and `violations`
 * when given). Ends with the line `N passed, N failed`; an invalid test file
 * or a policy that does not load counts as one failure, never as a pass.
 */
import { existsSync, globSync, statSync } from 'node:fs';
import { createEnforcer, formatIssue, type Outcome, type PolicyIssue } from '@hexgate/core';
import { roleWarnings, userFrom } from '../caller.ts';
import { type CommandContext, EXIT, UsageError } from '../command.ts';
import { loadPolicyFor } from '../policy-loading.ts';
import { readTestFile, sniffTestFile, type TestCase } from './test-file.ts';

const GLOB_CHARS = /[*?[\]{}]/;

/** Expands globs (`fs.globSync`) and checks each file exists; absolute paths, in order, without repeats. */
export function expandTestFiles(ctx: CommandContext, patterns: readonly string[]): string[] {
  const files: string[] = [];
  for (const pattern of patterns) {
    const abs = ctx.resolve(pattern);
    if (existsSync(abs)) {
      if (statSync(abs).isDirectory())
        throw new UsageError(
          `${pattern} is a directory: pass --tool T to decide one call against a policy directory, or give test files`,
        );
      files.push(abs);
      continue;
    }
    if (!GLOB_CHARS.test(pattern)) throw new UsageError(`no such file: ${pattern}`);
    const matches = globSync(pattern, { cwd: ctx.io.cwd }).sort();
    if (matches.length === 0) throw new UsageError(`no files match ${pattern}`);
    files.push(...matches.map((m) => ctx.resolve(m)));
  }
  return [...new Set(files)];
}

export interface CaseResult {
  readonly file: string;
  readonly name: string;
  readonly line: number;
  readonly column: number;
  readonly expect: Outcome;
  readonly outcome: Outcome;
  readonly pass: boolean;
  readonly reason: string;
  readonly violations: readonly string[];
  readonly expectedViolations?: readonly string[];
}

function sameViolations(expected: readonly string[], actual: readonly string[]): boolean {
  const a = [...expected].sort();
  const b = [...actual].sort();
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export async function runTestFiles(ctx: CommandContext, files: readonly string[], options: { json: boolean }) {
  const { style } = ctx;
  // Reject policies given where test files are expected before running anything.
  for (const abs of files) {
    if ((await sniffTestFile(abs)) === 'policy')
      throw new UsageError(
        `${ctx.display(abs)} is a policy, not a test file (no policy: or cases:); pass --tool T to decide one call`,
      );
  }
  const results: CaseResult[] = [];
  const errors: PolicyIssue[] = [];
  let brokenFiles = 0;
  const report = (line: string) => {
    if (!options.json) ctx.out(line);
  };

  for (const abs of files) {
    const display = ctx.display(abs);
    const read = await readTestFile(abs, display);
    if (!read.ok) {
      brokenFiles++;
      errors.push(...read.problems);
      for (const p of read.problems) report(formatIssue(p));
      report(`${style.red('✗')} ${display}: invalid test file`);
      continue;
    }
    const { testFile } = read;
    const loaded = await loadPolicyFor(ctx, testFile.policyPath);
    if (!loaded.ok) {
      brokenFiles++;
      errors.push(...loaded.issues);
      for (const p of loaded.issues) report(formatIssue(p));
      report(`${style.red('✗')} ${display}: cannot load the policy ${ctx.display(testFile.policyPath)}`);
      continue;
    }
    const enforcer = createEnforcer({ policy: loaded.policy });
    for (const c of testFile.cases) {
      for (const w of roleWarnings(loaded.policy, c.user?.roles))
        ctx.err(`${display}:${c.line}:${c.column}: ${style.yellow('warning')}: ${w}`);
      const result = runCase(display, c, enforcer);
      results.push(result);
      if (!result.pass) report(failureLine(result, style.red('✗')));
    }
  }
  const passed = results.filter((r) => r.pass).length;
  const failed = results.length - passed + brokenFiles;
  if (options.json) {
    const cases = results.map((r) => ({
      file: r.file,
      name: r.name,
      expect: r.expect,
      outcome: r.outcome,
      pass: r.pass,
      reason: r.reason,
      violations: r.violations,
      ...(r.expectedViolations ? { expectedViolations: r.expectedViolations } : {}),
    }));
    ctx.out(JSON.stringify({ cases, passed, failed, errors }, null, 2));
  } else {
    ctx.out(`${passed} passed, ${failed} failed`);
  }
  return failed > 0 ? EXIT.failure : EXIT.ok;
}

function runCase(file: string, c: TestCase, enforcer: ReturnType<typeof createEnforcer>): CaseResult {
  const user = userFrom(c.user);
  const { decision } = enforcer.decide({ tool: c.tool, args: c.args, user });
  const outcomeOk = decision.outcome === c.expect;
  const violationsOk = c.violations === undefined || sameViolations(c.violations, decision.violations);
  return {
    file,
    name: c.name,
    line: c.line,
    column: c.column,
    expect: c.expect,
    outcome: decision.outcome,
    pass: outcomeOk && violationsOk,
    reason: decision.reason,
    violations: decision.violations,
    ...(c.violations !== undefined ? { expectedViolations: c.violations } : {}),
  };
}

function failureLine(r: CaseResult, mark: string): string {
  const where = `${r.file}:${r.line}:${r.column}`;
  if (r.outcome !== r.expect) return `${mark} ${where} ${r.name}: expected ${r.expect}, got ${r.outcome} (${r.reason})`;
  return `${mark} ${where} ${r.name}: expected violations ${JSON.stringify(r.expectedViolations)}, got ${JSON.stringify(r.violations)} (${r.outcome}: ${r.reason})`;
}

/**
 * Loads a policy for a command with core's strict loader and turns a
 * `PolicyLoadError` into every issue it carries, with paths shown relative to
 * the working directory.
 */
import { readFileSync } from 'node:fs';
import { formatIssue, loadPolicy, type Policy, type PolicyIssue, PolicyLoadError } from '@hexgate/core';
import type { CommandContext } from './command.ts';
import { readYamlSource } from './policy-tests/yaml-source.ts';

export type LoadResult =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

export async function loadPolicyFor(ctx: CommandContext, path: string): Promise<LoadResult> {
  try {
    return { ok: true, policy: await loadPolicy(ctx.resolve(path)) };
  } catch (e) {
    if (!PolicyLoadError.isInstance(e)) throw e;
    return { ok: false, issues: e.issues.map((i) => ({ ...placeSyntaxError(i), file: ctx.display(i.file) })) };
  }
}

/**
 * Workaround: core's loader reports every YAML syntax error at 1:1 (the
 * `yaml` package leaves `linePos` unset when prettyErrors is off). Re-read the
 * file to find where the error really is. Remove once core reports it.
 */
function placeSyntaxError(issue: PolicyIssue): PolicyIssue {
  if (!issue.message.startsWith('YAML syntax error') || issue.line !== 1 || issue.column !== 1) return issue;
  try {
    const read = readYamlSource(issue.file, readFileSync(issue.file, 'utf8'));
    const found = read.ok ? undefined : read.problems.find((p) => p.message === issue.message);
    return found ? { ...issue, line: found.line, column: found.column } : issue;
  } catch {
    return issue;
  }
}

export function issueLine(issue: PolicyIssue): string {
  return formatIssue(issue);
}

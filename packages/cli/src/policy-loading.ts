/**
 * Loads a policy for a command with core's strict loader and turns a
 * `PolicyLoadError` into every issue it carries, with paths shown relative to
 * the working directory.
 */
import { loadPolicy, type Policy, type PolicyIssue, PolicyLoadError } from '@hexgate/core';
import type { CommandContext } from './command.ts';

export type LoadResult =
  | { readonly ok: true; readonly policy: Policy }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

export async function loadPolicyFor(ctx: CommandContext, path: string): Promise<LoadResult> {
  try {
    return { ok: true, policy: await loadPolicy(ctx.resolve(path)) };
  } catch (e) {
    if (!PolicyLoadError.isInstance(e)) throw e;
    return { ok: false, issues: e.issues.map((i) => ({ ...i, file: ctx.display(i.file) })) };
  }
}

/** Renders one `Decision` for people (✓ ALLOW / ⚠ APPROVAL_REQUIRED / ✗ DENY) and for scripts (JSON). */
import type { Decision, Outcome, User } from '@hexgate/core';
import { describeUser } from './caller.ts';
import type { Style } from './cli-io.ts';
import type { CommandContext } from './command.ts';

export function outcomeLabel(outcome: Outcome, style: Style): string {
  if (outcome === 'allow') return style.green('✓ ALLOW');
  if (outcome === 'approval_required') return style.yellow('⚠ APPROVAL_REQUIRED');
  return style.red('✗ DENY');
}

export function printDecision(ctx: CommandContext, decision: Decision, args: string, user: User | undefined): void {
  const { style } = ctx;
  ctx.out(`${style.bold(outcomeLabel(decision.outcome, style))} ${decision.tool}`);
  ctx.out(`  args:   ${args}`);
  ctx.out(`  user:   ${describeUser(user)}`);
  ctx.out(`  role:   ${decision.decidingRole ?? '(none)'}`);
  ctx.out(`  reason: ${decision.reason}`);
  if (decision.violations.length > 0) {
    ctx.out('  violated constraints:');
    for (const v of decision.violations) ctx.out(`    - ${v}`);
  }
}

/** The stable JSON shape of `policy test --json` (one call). */
export function decisionJson(
  decision: Decision,
  args: unknown,
  user: User | undefined,
  warnings: readonly string[],
  policy: string,
) {
  return {
    outcome: decision.outcome,
    tool: decision.tool,
    args,
    user: user ?? null,
    roles: decision.roles,
    decidingRole: decision.decidingRole ?? null,
    reason: decision.reason,
    violations: decision.violations,
    policy,
    policyDigest: decision.policyDigest,
    warnings,
  };
}

/**
 * `hexgate policy explain <policy> --tool T ...`: the evaluation trace of one
 * call from core's `enforcer.explain`: the roles consulted (after
 * inheritance), the entry that applied, each constraint with its operand
 * values and result, and how the roles were combined.
 */
import { createEnforcer, describePolicy, type Explanation, type RoleTrace } from '@hexgate/core';
import { describeUser } from '../caller.ts';
import type { CommandContext } from '../command.ts';
import { defineCommand, EXIT } from '../command.ts';
import { outcomeLabel } from '../format-decision.ts';
import { callOptions, callOptionsHelp, type PreparedCall, prepareCall } from '../single-call.ts';

const help = `Usage: hexgate policy explain <policy> --tool T [--role R ...] [--user-id U] [--args JSON] [--ctx JSON] [--json]

Shows how one call is evaluated: which role policies were consulted (after
inheritance), which tool entry or default_policy applied, each constraint
with its resolved operand values and its result (true, false, or undefined
and why), and how the roles' results were combined.

Options:
${callOptionsHelp}

Exit codes: 0 allow or approval_required, 1 deny, 2 usage or load error.

Example:
  hexgate policy explain policy.yaml --tool wire_transfer --user-id bea --role billing \\
    --args '{"amount": 50, "iban": "DE00"}' --ctx '{"region": "EU"}'
`;

export default defineCommand({
  help,
  options: callOptions,
  async run({ values, positionals }, ctx) {
    const prepared = await prepareCall(values, positionals, ctx);
    if (typeof prepared === 'number') return prepared;
    const enforcer = createEnforcer({ policy: prepared.policy });
    const explanation = enforcer.explain(prepared.call);
    if (values.json === true) {
      ctx.out(JSON.stringify(explanationJson(ctx, explanation, prepared), null, 2));
    } else {
      printExplanation(ctx, explanation, prepared);
    }
    return explanation.outcome === 'deny' ? EXIT.failure : EXIT.ok;
  },
});

function explanationJson(ctx: CommandContext, e: Explanation, prepared: PreparedCall) {
  return {
    tool: e.tool,
    args: prepared.argsValue,
    user: prepared.call.user ?? null,
    policy: prepared.policyPath,
    policyDigest: e.policyDigest ?? null,
    argsError: e.argsError ?? null,
    roles: e.roles.map((r) => ({
      requested: r.requested ?? null,
      role: r.role,
      applied: r.applied,
      definedIn: r.definedIn ?? null,
      mode: r.mode,
      constraints: r.constraints.map((c) => ({
        source: c.source,
        result: c.result,
        why: c.why ?? null,
        operands: c.operands.map((o) => ({
          expression: o.expression,
          value: o.missing ? null : o.value,
          missing: o.missing,
        })),
        location: { ...c.location, file: ctx.display(c.location.file) },
      })),
      outcome: r.outcome,
      reason: r.reason,
    })),
    combination: e.combination,
    outcome: e.outcome,
    decidingRole: e.decidingRole ?? null,
    reason: e.reason,
    violations: e.violations,
    warnings: prepared.warnings,
  };
}

function printExplanation(ctx: CommandContext, e: Explanation, prepared: PreparedCall): void {
  const { style } = ctx;
  const described = describePolicy(prepared.policy);
  ctx.out(`${style.bold('call')}     ${e.tool} ${prepared.argsText}`);
  ctx.out(`${style.bold('caller')}   ${describeUser(prepared.call.user)}`);
  ctx.out(`${style.bold('policy')}   ${prepared.policyPath} (sha256 ${(e.policyDigest ?? '').slice(0, 12)})`);
  if (e.argsError) ctx.out(`${style.red('arguments rejected before evaluation')}: ${e.argsError}`);
  for (const r of e.roles) {
    ctx.out('');
    printRole(ctx, r, e.tool, described);
  }
  ctx.out('');
  ctx.out(`${style.bold('combined')} ${e.combination}`);
  const role = e.decidingRole ? ` (role ${e.decidingRole})` : '';
  ctx.out(`${style.bold(outcomeLabel(e.outcome, style))} ${e.tool}${role}: ${e.reason}`);
}

function printRole(
  ctx: CommandContext,
  r: RoleTrace,
  tool: string,
  described: ReturnType<typeof describePolicy>,
): void {
  const { style } = ctx;
  const requested =
    r.requested === undefined
      ? ' (no role given)'
      : r.requested !== r.role
        ? ` (requested ${r.requested}: not a role a caller can hold, so '${r.role}')`
        : '';
  ctx.out(`${style.bold(`role '${r.role}'`)}${requested}`);
  const role = described.roles.find((x) => x.name === r.role);
  if (r.applied === 'no default role (deny everything)') {
    ctx.out(`  applied  no '${r.role}' role in this policy: deny everything`);
  } else {
    const entry = r.applied === 'tool entry' ? role?.tools[tool] : role?.defaultPolicy;
    const what = r.applied === 'tool entry' ? `tool entry '${tool}'` : 'default_policy';
    const inherited = r.definedIn && r.definedIn !== r.role ? `, inherited from '${r.definedIn}'` : '';
    const at = entry?.location
      ? ` at ${ctx.display(entry.location.file)}:${entry.location.line}:${entry.location.column}`
      : r.applied === 'default_policy'
        ? ' (none written: deny)'
        : '';
    ctx.out(`  applied  ${what}${at}: mode ${r.mode}${inherited}`);
  }
  for (const c of r.constraints) {
    const mark = c.result === 'true' ? style.green('✓') : c.result === 'false' ? style.red('✗') : style.yellow('?');
    const operands = c.operands
      .map((o) => `${o.expression} = ${o.missing ? 'missing' : JSON.stringify(o.value)}`)
      .join(', ');
    const why = c.why ? ` (${c.why})` : '';
    ctx.out(`  ${mark} ${c.result.padEnd(9)} ${c.source}${why}`);
    if (operands) ctx.out(`              ${style.dim(operands)}`);
  }
  if (r.mode === 'deny' && r.applied !== 'no default role (deny everything)')
    ctx.out('  (mode deny: constraints are not evaluated)');
  ctx.out(`  → ${r.outcome}: ${r.reason}`);
}

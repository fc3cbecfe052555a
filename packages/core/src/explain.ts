/**
 * The evaluation trace behind a decision, for humans (`hexgate policy
 * explain`): which roles were consulted, which entry applied, each
 * constraint's operand values and result, and how roles were combined.
 */
import { type ArgsLimits, snapshotArgs } from './args/snapshot-args.ts';
import type { Expr, Value } from './constraints/ast.ts';
import { type CompileScope, compileValue } from './constraints/compile.ts';
import { argsRoot, MISSING } from './constraints/json-value.ts';
import type { Outcome } from './decision.ts';
import type { ToolCall } from './enforcer.ts';
import { type CompiledConstraint, DEFAULT_ROLE, type Policy, type SourceLocation } from './policy/policy.ts';
import type { User } from './user-scope.ts';

export type TriState = 'true' | 'false' | 'undefined';

export interface OperandTrace {
  readonly expression: string;
  /** The resolved value; `missing` is true when the path does not exist or the type does not fit. */
  readonly value: unknown;
  readonly missing: boolean;
}

export interface ConstraintTrace {
  readonly source: string;
  readonly result: TriState;
  /** Why the result is undefined (missing path, type mismatch). */
  readonly why?: string;
  readonly operands: readonly OperandTrace[];
  readonly location: SourceLocation;
}

export interface RoleTrace {
  /** The role name the caller gave (absent when no roles were given). */
  readonly requested: string | undefined;
  /** The role actually evaluated (`default` for unknown names and mixins). */
  readonly role: string;
  readonly applied: 'tool entry' | 'default_policy' | 'no default role (deny everything)';
  /** The role that wrote the applied entry (differs from `role` when inherited). */
  readonly definedIn: string | undefined;
  readonly mode: 'allow' | 'deny' | 'approval_required';
  readonly constraints: readonly ConstraintTrace[];
  readonly outcome: Outcome;
  readonly reason: string;
}

export interface Explanation {
  readonly tool: string;
  readonly policyDigest: string | undefined;
  readonly argsError: string | undefined;
  readonly roles: readonly RoleTrace[];
  readonly combination: string;
  readonly outcome: Outcome;
  readonly decidingRole: string | undefined;
  readonly reason: string;
  readonly violations: readonly string[];
}

export function explainCall(
  policy: Policy | undefined,
  call: ToolCall,
  user: User | undefined,
  limits?: ArgsLimits,
  refusal = 'no usable policy',
): Explanation {
  const tool = call.tool;
  const base = {
    tool,
    policyDigest: policy?.digest,
    roles: [] as RoleTrace[],
    decidingRole: undefined,
    violations: [] as string[],
  };
  if (!policy)
    return {
      ...base,
      argsError: undefined,
      combination: `${refusal}: deny`,
      outcome: 'deny',
      reason: refusal,
    };
  const snap = snapshotArgs(call.args, limits);
  if (!snap.ok)
    return {
      ...base,
      argsError: snap.reason,
      combination: 'arguments rejected before evaluation: deny',
      outcome: 'deny',
      reason: snap.reason,
    };

  const verdict = policy.evaluate(tool, snap.args, user);
  const root = argsRoot(snap.args);
  const results = policy.evaluateEach(tool, snap.args, user);
  const requested = user?.roles && user.roles.length > 0 ? [...user.roles] : [undefined];
  const roles: RoleTrace[] = [];
  for (const result of results) {
    const entry = result.entry;
    const role = policy.roles.get(result.role);
    const scope: CompileScope = { role: result.role, consts: role?.consts ?? new Map() };
    const asked = requested.filter((r) =>
      r === undefined ? result.role === DEFAULT_ROLE : policy.effectiveRoles([r])[0] === result.role,
    );
    roles.push({
      requested: asked.length > 0 ? asked.join(', ') || undefined : undefined,
      role: result.role,
      applied:
        !role || role.isMixin
          ? 'no default role (deny everything)'
          : entry.tool === undefined
            ? 'default_policy'
            : 'tool entry',
      definedIn: role ? entry.definedIn : undefined,
      mode: entry.mode,
      constraints:
        entry.mode === 'deny'
          ? []
          : entry.constraints.map((c) =>
              traceConstraint(c, c.test(root, user, tool, undefined), { args: root, user, tool }, scope),
            ),
      outcome: result.outcome,
      reason: result.reason,
    });
  }
  const combination =
    results.length === 1
      ? `one role evaluated: ${verdict.outcome}`
      : `${results.length} roles evaluated (allow beats approval_required beats deny): ${verdict.outcome} from '${verdict.role}'`;
  return {
    ...base,
    argsError: undefined,
    roles,
    combination,
    outcome: verdict.outcome,
    decidingRole: verdict.role,
    reason: verdict.reason,
    violations: verdict.violations,
  };
}

function traceConstraint(
  constraint: CompiledConstraint,
  result: boolean | undefined,
  call: { args: unknown; user: User | undefined; tool: string },
  scope: CompileScope,
): ConstraintTrace {
  const { source, ast, location } = constraint;
  const operands: OperandTrace[] = [];
  for (const { node, text } of operandsOf(ast)) {
    let value: unknown;
    try {
      value = compileValue(node, scope)(call.args, call.user, call.tool, undefined);
    } catch {
      value = MISSING;
    }
    operands.push({ expression: text, value: value === MISSING ? undefined : value, missing: value === MISSING });
  }
  const tri: TriState = result === true ? 'true' : result === false ? 'false' : 'undefined';
  const missing = operands.filter((o) => o.missing).map((o) => o.expression);
  const why =
    tri !== 'undefined'
      ? undefined
      : missing.length > 0
        ? `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing or not applicable`
        : 'type mismatch (values of different kinds cannot be ordered or compared)';
  return { source, result: tri, ...(why ? { why } : {}), operands, location };
}

/** The value operands of a constraint, outside quantifier bodies (whose `.` changes per item). */
function operandsOf(expr: Expr): { node: Value; text: string }[] {
  const out: { node: Value; text: string }[] = [];
  const seen = new Set<string>();
  const add = (v: Value) => {
    if (v.kind === 'literal') return;
    const text = valueText(v);
    if (v.kind === 'path' && v.root === 'item') return;
    if (!seen.has(text)) {
      seen.add(text);
      out.push({ node: v, text });
    }
  };
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'or':
      case 'and':
        e.items.forEach(walk);
        return;
      case 'not':
        walk(e.item);
        return;
      case 'compare':
        add(e.left);
        add(e.right);
        return;
      case 'call':
        add(e.subject);
        add(e.arg);
        return;
      case 'matches':
      case 'quantifier':
        add(e.subject);
        return;
    }
  };
  walk(expr);
  return out;
}

function valueText(v: Value): string {
  switch (v.kind) {
    case 'path':
      return v.text;
    case 'const':
      return `consts.${v.name}`;
    case 'count':
      return `count(${valueText(v.arg)})`;
    case 'literal':
      return JSON.stringify(v.value);
    default:
      return v.kind;
  }
}

/**
 * A loaded, validated and compiled policy. Immutable: reloading builds a new
 * `Policy`. Roles are resolved (inheritance applied) and every constraint is
 * compiled once at load time, so deciding is a map lookup plus closures.
 */
import type { Expr } from '../constraints/ast.ts';
import type { CompiledExpr, EvalEnv } from '../constraints/compile.ts';
import { MISSING } from '../constraints/json-value.ts';
import type { Outcome } from '../decision.ts';
import type { User } from '../user-scope.ts';
import type { Mode } from './policy-schema.ts';

export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface CompiledConstraint {
  /** The constraint exactly as written; reported verbatim as a violation. */
  readonly source: string;
  readonly ast: Expr;
  readonly test: CompiledExpr;
  readonly location: SourceLocation;
}

export interface CompiledEntry {
  readonly mode: Mode;
  readonly constraints: readonly CompiledConstraint[];
  /** The role that wrote this entry (it may be inherited). */
  readonly definedIn: string;
  /** `undefined` for a `default_policy` entry (or the built-in deny). */
  readonly tool: string | undefined;
  readonly location: SourceLocation | undefined;
}

export interface CompiledRole {
  readonly name: string;
  readonly isMixin: boolean;
  readonly inherits: readonly string[];
  readonly tools: ReadonlyMap<string, CompiledEntry>;
  readonly defaultEntry: CompiledEntry;
  readonly consts: ReadonlyMap<string, unknown>;
  readonly location: SourceLocation;
}

/** One role's verdict for one call. */
export interface RoleResult {
  readonly role: string;
  readonly outcome: Outcome;
  readonly reason: string;
  readonly violations: readonly string[];
  /** The entry that applied: a tool entry, or the role's default policy. */
  readonly entry: CompiledEntry;
}

export interface PolicyVerdict {
  readonly outcome: Outcome;
  readonly decidingRole: string | undefined;
  readonly reason: string;
  readonly violations: readonly string[];
  readonly results: readonly RoleResult[];
}

const RANK: Record<Outcome, number> = { deny: 0, approval_required: 1, allow: 2 };

export const DEFAULT_ROLE = 'default';

/** The deny-everything stand-in used when a policy defines no `default` role. */
const BUILTIN_DENY: CompiledEntry = Object.freeze({
  mode: 'deny',
  constraints: [],
  definedIn: DEFAULT_ROLE,
  tool: undefined,
  location: undefined,
});

export class Policy {
  /** sha256 (hex) of the normalized policy. Every decision records it. */
  readonly digest: string;
  /** Files the policy was loaded from. */
  readonly sources: readonly string[];
  /** @internal resolved roles by name */
  readonly roles: ReadonlyMap<string, CompiledRole>;

  constructor(roles: ReadonlyMap<string, CompiledRole>, digest: string, sources: readonly string[]) {
    this.roles = roles;
    this.digest = digest;
    this.sources = Object.freeze([...sources]);
    Object.freeze(this);
  }

  /** Role names a caller may hold (mixins excluded). */
  get roleNames(): string[] {
    return [...this.roles.values()].filter((r) => !r.isMixin).map((r) => r.name);
  }

  /** Every tool named anywhere in the policy. */
  get toolNames(): string[] {
    const names = new Set<string>();
    for (const role of this.roles.values()) for (const t of role.tools.keys()) names.add(t);
    return [...names].sort();
  }

  get hasDefaultRole(): boolean {
    const d = this.roles.get(DEFAULT_ROLE);
    return d !== undefined && !d.isMixin;
  }

  /**
   * The roles actually evaluated for a caller: each given role the policy
   * defines as a selectable (non-mixin) role; anything else, or nothing, maps
   * to `default`. Duplicates are removed, order is kept.
   */
  effectiveRoles(roles: readonly string[] | undefined): string[] {
    const out: string[] = [];
    const add = (r: string) => {
      if (!out.includes(r)) out.push(r);
    };
    for (const r of roles ?? []) {
      const role = typeof r === 'string' ? this.roles.get(r) : undefined;
      add(role && !role.isMixin ? r : DEFAULT_ROLE);
    }
    if (out.length === 0) add(DEFAULT_ROLE);
    return out;
  }

  /** The entry a role applies to a tool, or undefined for a role that does not exist. */
  entryFor(roleName: string, tool: string): CompiledEntry {
    const role = this.roles.get(roleName);
    if (!role || role.isMixin) return BUILTIN_DENY;
    return role.tools.get(tool) ?? role.defaultEntry;
  }

  /** @internal Decide one call. Never throws: an evaluation error is a deny. */
  evaluate(tool: string, args: unknown, user: User | undefined): PolicyVerdict {
    const names = this.effectiveRoles(user?.roles);
    const ctx = user?.attributes ?? MISSING;
    const userId = user?.id ?? MISSING;
    let best: RoleResult | undefined;
    const results: RoleResult[] = [];
    for (const role of names) {
      const result = this.evaluateRole(role, { args, ctx, userId, role, tool });
      results.push(result);
      if (!best || RANK[result.outcome] > RANK[best.outcome]) best = result;
      if (result.outcome === 'allow') break; // nothing beats allow
    }
    const decided = best as RoleResult;
    if (decided.outcome !== 'deny' || results.length === 1) {
      return {
        outcome: decided.outcome,
        decidingRole: decided.role,
        reason: decided.reason,
        violations: decided.violations,
        results,
      };
    }
    // Every role denied: report the first role and every violation found.
    const violations = [...new Set(results.flatMap((r) => r.violations))];
    return { outcome: 'deny', decidingRole: decided.role, reason: decided.reason, violations, results };
  }

  private evaluateRole(role: string, env: EvalEnv): RoleResult {
    const entry = this.entryFor(role, env.tool);
    const tool = env.tool;
    if (entry === BUILTIN_DENY) {
      return {
        role,
        outcome: 'deny',
        reason: 'the policy defines no default role, so callers without a known role are denied',
        violations: [],
        entry,
      };
    }
    const viaDefault = entry.tool === undefined;
    if (entry.mode === 'deny') {
      const reason = viaDefault
        ? `tool '${tool}' is not allowed for role '${role}' (default policy)`
        : `tool '${tool}' is denied for role '${role}'`;
      return { role, outcome: 'deny', reason, violations: [], entry };
    }
    const violations: string[] = [];
    for (const c of entry.constraints) {
      let ok: boolean | undefined;
      try {
        ok = c.test(env, undefined);
      } catch {
        ok = undefined; // fail closed on any evaluation error
      }
      if (ok !== true) violations.push(c.source);
    }
    if (violations.length > 0) {
      return { role, outcome: 'deny', reason: `constraint not satisfied: ${violations.join('; ')}`, violations, entry };
    }
    if (entry.mode === 'approval_required') {
      return {
        role,
        outcome: 'approval_required',
        reason: `role '${role}' needs human approval to call '${tool}'`,
        violations,
        entry,
      };
    }
    return { role, outcome: 'allow', reason: `allowed for role '${role}'`, violations, entry };
  }
}

/**
 * A loaded, validated and compiled policy. Immutable: reloading builds a new
 * `Policy`. Roles are resolved (inheritance applied) and every constraint is
 * compiled once at load time, so deciding is a map lookup plus closures.
 */
import type { Expr } from '../constraints/ast.ts';
import type { CompiledExpr } from '../constraints/compile.ts';
import { argsRoot, type Operand } from '../constraints/json-value.ts';
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
  /** Precomputed `[source]` and its reason, for the common single-violation deny. */
  readonly alone: readonly string[];
  readonly aloneReason: string;
}

export interface CompiledEntry {
  readonly mode: Mode;
  readonly constraints: readonly CompiledConstraint[];
  /** The role that wrote this entry (it may be inherited). */
  readonly definedIn: string;
  /** `undefined` for a `default_policy` entry (or the built-in deny). */
  readonly tool: string | undefined;
  readonly location: SourceLocation | undefined;
  /** A tool entry's verdict without violations, built on first use. */
  readonly memo: { verdict: RoleResult | undefined };
  /** A default entry's verdicts without violations, by tool name, built on first use (bounded). */
  readonly verdicts: Map<string, RoleResult>;
  /** The deny verdict for each constraint failing alone, built on first use. */
  readonly denials: (RoleResult | undefined)[];
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

/** The decision for one call: the deciding role's result (violations merged when every role denied). */
export type PolicyVerdict = RoleResult;

const RANK: Record<Outcome, number> = { deny: 0, approval_required: 1, allow: 2 };

export const DEFAULT_ROLE = 'default';

/** The deny-everything stand-in used when a policy defines no `default` role. */
const BUILTIN_DENY: CompiledEntry = Object.freeze({
  mode: 'deny',
  constraints: [],
  definedIn: DEFAULT_ROLE,
  tool: undefined,
  location: undefined,
  memo: { verdict: undefined },
  verdicts: new Map(),
  denials: [],
});

export class Policy {
  /** sha256 (hex) of the normalized policy. Every decision records it. */
  readonly digest: string;
  /** Files the policy was loaded from. */
  readonly sources: readonly string[];
  /** @internal resolved roles by name */
  readonly roles: ReadonlyMap<string, CompiledRole>;
  /** Roles a caller can hold (mixins excluded), for the hot path. */
  readonly #selectable: ReadonlyMap<string, CompiledRole>;
  /** The `default` role, or undefined when the policy defines none (deny everything). */
  readonly #defaultRole: CompiledRole | undefined;

  constructor(roles: ReadonlyMap<string, CompiledRole>, digest: string, sources: readonly string[]) {
    this.roles = roles;
    this.#selectable = new Map([...roles].filter(([, r]) => !r.isMixin));
    this.#defaultRole = this.#selectable.get(DEFAULT_ROLE);
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

  /**
   * @internal Decide one call. Never throws: an evaluation error is a deny.
   * This is the hot path: no per-call arrays unless several roles are held,
   * reasons are precomputed, and the common single-role case goes straight
   * to one role's entry.
   */
  evaluate(tool: string, args: unknown, user: User | undefined): PolicyVerdict {
    const root = argsRoot(args);
    const roles = user?.roles;
    if (roles === undefined || roles.length <= 1) {
      const name = roles?.length === 1 ? roles[0] : undefined;
      const named = typeof name === 'string' ? this.#selectable.get(name) : undefined;
      return named
        ? this.evaluateRole(named.name, named, tool, root, user)
        : this.evaluateRole(DEFAULT_ROLE, this.#defaultRole, tool, root, user);
    }
    let best: RoleResult | undefined;
    let denied: RoleResult[] | undefined;
    for (const role of this.effectiveRoles(roles)) {
      const result = this.evaluateRole(role, this.compiledFor(role), tool, root, user);
      if (result.outcome === 'allow') return result; // nothing beats allow
      if (!best || RANK[result.outcome] > RANK[best.outcome]) best = result;
      if (result.outcome === 'deny') {
        denied ??= [];
        denied.push(result);
      }
    }
    const decided = best as RoleResult;
    if (decided.outcome !== 'deny' || !denied || denied.length === 1) return decided;
    // Every role denied: report the first role and every violation found.
    const violations = Object.freeze([...new Set(denied.flatMap((r) => r.violations))]);
    return { ...decided, violations };
  }

  /** @internal Every role's result, for explanations (not on the hot path). */
  evaluateEach(tool: string, args: unknown, user: User | undefined): RoleResult[] {
    const root = argsRoot(args);
    return this.effectiveRoles(user?.roles).map((role) =>
      this.evaluateRole(role, this.compiledFor(role), tool, root, user),
    );
  }

  /** The compiled role a caller can hold under this name; undefined means deny everything. */
  private compiledFor(name: string): CompiledRole | undefined {
    return this.#selectable.get(name);
  }

  /**
   * One role's verdict. Results without violations, and each single-violation
   * deny, are built once and shared (frozen), so the common paths allocate
   * nothing.
   */
  private evaluateRole(
    role: string,
    compiled: CompiledRole | undefined,
    tool: string,
    args: Operand,
    user: User | undefined,
  ): RoleResult {
    const entry = compiled ? (compiled.tools.get(tool) ?? compiled.defaultEntry) : BUILTIN_DENY;
    const constraints = entry.constraints;
    if (entry.mode !== 'deny' && constraints.length > 0) {
      let first = -1;
      let violations: string[] | undefined;
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i] as CompiledConstraint;
        let ok: boolean | undefined;
        try {
          ok = c.test(args, user, tool, undefined);
        } catch {
          ok = undefined; // fail closed on any evaluation error
        }
        if (ok === true) continue;
        if (first === -1) first = i;
        else {
          violations ??= [(constraints[first] as CompiledConstraint).source];
          violations.push(c.source);
        }
      }
      if (violations) {
        return Object.freeze({
          role,
          outcome: 'deny',
          reason: violationReason(violations),
          violations: Object.freeze(violations),
          entry,
        });
      }
      if (first !== -1) {
        let denial = entry.denials[first];
        if (!denial) {
          const c = constraints[first] as CompiledConstraint;
          denial = Object.freeze({ role, outcome: 'deny', reason: c.aloneReason, violations: c.alone, entry });
          entry.denials[first] = denial;
        }
        return denial;
      }
    }
    return verdictFor(entry, role, tool);
  }
}

const NONE: readonly string[] = Object.freeze([]);

export function violationReason(violations: readonly string[]): string {
  return `constraint not satisfied: ${violations.join('; ')}`;
}

/**
 * A verdict without violations is the same for every call of a (role, entry,
 * tool). Each compiled entry belongs to one role, so verdicts are cached on
 * the entry by tool name (bounded, since tool names come from callers).
 */
const MAX_CACHED_VERDICTS = 4096;

function verdictFor(entry: CompiledEntry, role: string, tool: string): RoleResult {
  if (entry.tool !== undefined) {
    // A tool entry is only ever looked up under its own tool name.
    entry.memo.verdict ??= Object.freeze({
      role,
      outcome: entry.mode,
      reason: buildReason(entry, role, tool),
      violations: NONE,
      entry,
    });
    return entry.memo.verdict;
  }
  let verdict = entry.verdicts.get(tool);
  if (verdict === undefined) {
    const outcome: Outcome = entry === BUILTIN_DENY ? 'deny' : entry.mode;
    verdict = Object.freeze({ role, outcome, reason: buildReason(entry, role, tool), violations: NONE, entry });
    if (entry !== BUILTIN_DENY && entry.verdicts.size < MAX_CACHED_VERDICTS) entry.verdicts.set(tool, verdict);
  }
  return verdict;
}

function buildReason(entry: CompiledEntry, role: string, tool: string): string {
  if (entry === BUILTIN_DENY) return 'the policy defines no default role, so callers without a known role are denied';
  if (entry.mode === 'deny') {
    return entry.tool === undefined
      ? `tool '${tool}' is not allowed for role '${role}' (default policy)`
      : `tool '${tool}' is denied for role '${role}'`;
  }
  if (entry.mode === 'approval_required') return `role '${role}' needs human approval to call '${tool}'`;
  return `allowed for role '${role}'`;
}

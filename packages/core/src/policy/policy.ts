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
  /** All constraints as one call: the index of the first that does not hold, or -1. */
  readonly check: EntryCheck;
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
  check: () => -1,
  memo: { verdict: undefined },
  verdicts: new Map(),
  denials: [],
});

/** Marks a Policy built by any copy of @hexgate/core (an `instanceof` check fails across copies). */
const POLICY_BRAND = Symbol.for('@hexgate/core.Policy');

/** Whether `value` is a loaded Policy (from this or another copy of @hexgate/core). */
export function isPolicy(value: unknown): value is Policy {
  return (
    value instanceof Policy ||
    (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[POLICY_BRAND] === true)
  );
}

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
    Object.defineProperty(this, POLICY_BRAND, { value: true });
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
    const roles = user?.roles;
    if (roles === undefined || roles.length <= 1) {
      const name = roles?.length === 1 ? roles[0] : undefined;
      const named = typeof name === 'string' ? this.#selectable.get(name) : undefined;
      return named
        ? this.evaluateRole(named.name, named, tool, args, user)
        : this.evaluateRole(DEFAULT_ROLE, this.#defaultRole, tool, args, user);
    }
    let best: RoleResult | undefined;
    let denied: RoleResult[] | undefined;
    for (const role of this.effectiveRoles(roles)) {
      const result = this.evaluateRole(role, this.compiledFor(role), tool, args, user);
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
    return this.effectiveRoles(user?.roles).map((role) =>
      this.evaluateRole(role, this.compiledFor(role), tool, args, user),
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
    args: unknown,
    user: User | undefined,
  ): RoleResult {
    const entry = compiled ? (compiled.tools.get(tool) ?? compiled.defaultEntry) : BUILTIN_DENY;
    if (entry.mode !== 'deny' && entry.constraints.length !== 0) {
      const root = argsRoot(args);
      const failed = entry.check(root, user, tool);
      if (failed !== -1) return denialFor(entry, role, failed, root, user, tool);
    }
    return verdictFor(entry, role, tool);
  }
}

/**
 * The deny verdict when constraint `first` failed: the remaining constraints
 * are evaluated too, so every violation is reported. A single violation's
 * verdict is built once per entry and shared.
 */
function denialFor(
  entry: CompiledEntry,
  role: string,
  first: number,
  args: Operand,
  user: User | undefined,
  tool: string,
): RoleResult {
  const constraints = entry.constraints;
  let violations: string[] | undefined;
  for (let i = first + 1; i < constraints.length; i++) {
    const c = constraints[i] as CompiledConstraint;
    if (holds(c.test, args, user, tool)) continue;
    violations ??= [(constraints[first] as CompiledConstraint).source];
    violations.push(c.source);
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
  let denial = entry.denials[first];
  if (!denial) {
    const c = constraints[first] as CompiledConstraint;
    denial = Object.freeze({ role, outcome: 'deny', reason: c.aloneReason, violations: c.alone, entry });
    entry.denials[first] = denial;
  }
  return denial;
}

/** A constraint holds only when it evaluates to exactly `true`; an evaluation error fails closed. */
function holds(test: CompiledExpr, args: Operand, user: User | undefined, tool: string): boolean {
  try {
    return test(args, user, tool, undefined) === true;
  } catch {
    return false;
  }
}

/** See `CompiledEntry.check`. */
export type EntryCheck = (args: Operand, user: User | undefined, tool: string) => number;

/**
 * Folds an entry's constraints into one closure, compiled at load time. The
 * usual one to three constraints are called directly rather than looped over.
 */
export function compileCheck(tests: readonly CompiledExpr[]): EntryCheck {
  const [t0, t1, t2] = tests;
  switch (tests.length) {
    case 0:
      return () => -1;
    case 1: {
      const a0 = t0 as CompiledExpr;
      return (a, u, t) => (holds(a0, a, u, t) ? -1 : 0);
    }
    case 2: {
      const a0 = t0 as CompiledExpr;
      const a1 = t1 as CompiledExpr;
      return (a, u, t) => (!holds(a0, a, u, t) ? 0 : !holds(a1, a, u, t) ? 1 : -1);
    }
    case 3: {
      const a0 = t0 as CompiledExpr;
      const a1 = t1 as CompiledExpr;
      const a2 = t2 as CompiledExpr;
      return (a, u, t) => (!holds(a0, a, u, t) ? 0 : !holds(a1, a, u, t) ? 1 : !holds(a2, a, u, t) ? 2 : -1);
    }
    default: {
      const all = [...tests];
      return (a, u, t) => {
        for (let i = 0; i < all.length; i++) if (!holds(all[i] as CompiledExpr, a, u, t)) return i;
        return -1;
      };
    }
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

/**
 * Lints for a policy that loads fine but probably does not mean what its
 * author thinks. Each finding has a stable `id` (for docs and for scripts
 * that filter) and the source position to fix. Lints read core's
 * `describePolicy` view (roles after inheritance, constraint ASTs), never
 * core internals.
 */
import {
  type ConstraintAst,
  type DescribedConstraint,
  type DescribedEntry,
  type DescribedRole,
  describePolicy,
  type Policy,
  type PolicyDescription,
  type SourceLocation,
} from '@hexgate/core';
import { analyzeConstraint } from './constraint-analysis.ts';
import { regexProblems } from './regex-cost.ts';

export type LintId =
  | 'no-default-role'
  | 'default-role-broader'
  | 'shadowed-grant'
  | 'constraint-never-holds'
  | 'constraint-always-holds'
  | 'constraints-contradict'
  | 'ignored-constraints'
  | 'expensive-regex'
  | 'redundant-deny';

export interface LintWarning {
  readonly id: LintId;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

const RANK = { deny: 0, approval_required: 1, allow: 2 } as const;

export function lintPolicy(policy: Policy): LintWarning[] {
  const desc = describePolicy(policy);
  const found = new Map<string, LintWarning>();
  const add = (id: LintId, at: SourceLocation, message: string, dedupeKey = message) => {
    const key = `${id}|${at.file}:${at.line}:${at.column}|${dedupeKey}`;
    if (!found.has(key)) found.set(key, { id, file: at.file, line: at.line, column: at.column, message });
  };
  defaultRoleLints(desc, add);
  shadowedGrantLints(desc, add);
  entryLints(desc, add);
  redundantDenyLints(desc, add);
  return [...found.values()].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.id.localeCompare(b.id),
  );
}

type Add = (id: LintId, at: SourceLocation, message: string, dedupeKey?: string) => void;

function policyStart(desc: PolicyDescription): SourceLocation {
  return { file: desc.sources[0] ?? '<policy>', line: 1, column: 1 };
}

function entryOf(role: DescribedRole, tool: string): DescribedEntry {
  return role.tools[tool] ?? role.defaultPolicy;
}

function ownsDefaultPolicy(role: DescribedRole): boolean {
  return role.defaultPolicy.definedIn === role.name && role.defaultPolicy.location !== undefined;
}

function sameEffect(a: DescribedEntry, b: DescribedEntry): boolean {
  if (a.mode !== b.mode) return false;
  if (a.mode === 'deny') return true;
  const sa = a.constraints.map((c) => c.source).sort();
  const sb = b.constraints.map((c) => c.source).sort();
  return sa.length === sb.length && sa.every((s, i) => s === sb[i]);
}

function describeEntry(e: DescribedEntry): string {
  if (e.mode === 'deny' || e.constraints.length === 0) return e.mode;
  return `${e.mode} with ${e.constraints.length} constraint${e.constraints.length > 1 ? 's' : ''}`;
}

/** `no-default-role` and `default-role-broader`. */
function defaultRoleLints(desc: PolicyDescription, add: Add): void {
  const byName = new Map(desc.roles.map((r) => [r.name, r]));
  const def = byName.get(desc.defaultRoleName);
  if (!desc.hasDefaultRole) {
    add(
      'no-default-role',
      def?.location ?? policyStart(desc),
      def
        ? `role '${def.name}' is a mixin, so callers without a known role are denied every tool`
        : `the policy has no '${desc.defaultRoleName}' role, so every caller without a known role is denied every tool`,
    );
    return;
  }
  if (!def) return;
  for (const role of desc.roles) {
    if (role.isMixin || role.name === def.name) continue;
    const wider: string[] = [];
    const compare = (label: string, d: DescribedEntry, r: DescribedEntry) => {
      if (RANK[d.mode] > RANK[r.mode]) {
        wider.push(`${label} (${d.mode} vs ${r.mode})`);
        return;
      }
      if (d.mode !== r.mode || d.mode === 'deny') return;
      const dSources = new Set(d.constraints.map((c) => c.source));
      const rSources = new Set(r.constraints.map((c) => c.source));
      if (dSources.size < rSources.size && [...dSources].every((s) => rSources.has(s)))
        wider.push(`${label} (${d.mode} with fewer constraints: ${dSources.size} vs ${rSources.size})`);
    };
    for (const tool of desc.toolNames) compare(`'${tool}'`, entryOf(def, tool), entryOf(role, tool));
    compare('any other tool', def.defaultPolicy, role.defaultPolicy);
    if (wider.length > 0) {
      add(
        'default-role-broader',
        def.location,
        `role '${def.name}' allows more than role '${role.name}': ${wider.join(', ')}; a caller with role '${role.name}' gets less than an unknown caller`,
      );
    }
  }
}

/** `shadowed-grant`: a parent's grant that a later parent in `inherits` always replaces. */
function shadowedGrantLints(desc: PolicyDescription, add: Add): void {
  const byName = new Map(desc.roles.map((r) => [r.name, r]));
  for (const role of desc.roles) {
    const parents = role.inherits.map((n) => byName.get(n)).filter((p): p is DescribedRole => p !== undefined);
    if (parents.length < 2) continue;
    const tools = new Set(parents.flatMap((p) => Object.keys(p.tools)));
    for (const tool of tools) {
      const own = role.tools[tool];
      if (own && own.definedIn === role.name) continue; // the role decides for itself
      const providers = parents.filter((p) => p.tools[tool] !== undefined);
      const winner = providers[providers.length - 1];
      if (!winner || providers.length < 2) continue;
      const winning = winner.tools[tool] as DescribedEntry;
      for (const p of providers.slice(0, -1)) {
        const lost = p.tools[tool] as DescribedEntry;
        if (lost.mode === 'deny' || sameEffect(lost, winning) || !lost.location) continue;
        add(
          'shadowed-grant',
          lost.location,
          `in role '${role.name}', the grant of '${tool}' from '${p.name}' (${describeEntry(lost)}) is always replaced by the entry from '${winner.name}' (${describeEntry(winning)}), which comes later in inherits`,
        );
      }
    }
    if (ownsDefaultPolicy(role)) continue;
    const last = parents[parents.length - 1] as DescribedRole;
    for (const p of parents.slice(0, -1)) {
      const lost = p.defaultPolicy;
      if (!lost.location || lost.mode === 'deny' || sameEffect(lost, last.defaultPolicy)) continue;
      const by =
        last.defaultPolicy.location !== undefined
          ? `its default_policy (${describeEntry(last.defaultPolicy)})`
          : 'no default_policy (deny)';
      add(
        'shadowed-grant',
        lost.location,
        `in role '${role.name}', default_policy from '${p.name}' (${describeEntry(lost)}) is always replaced: '${last.name}' comes later in inherits and has ${by}`,
      );
    }
  }
}

function usesConsts(e: ConstraintAst): boolean {
  return JSON.stringify(e).includes('"kind":"const"');
}

function regexesIn(e: ConstraintAst): string[] {
  switch (e.kind) {
    case 'and':
    case 'or':
      return e.items.flatMap(regexesIn);
    case 'not':
      return regexesIn(e.item);
    case 'matches':
      return [e.pattern];
    case 'quantifier':
      return regexesIn(e.body);
    default:
      return [];
  }
}

/** Per-entry lints: constraints that never/always hold, contradictions, ignored constraints, regex cost. */
function entryLints(desc: PolicyDescription, add: Add): void {
  for (const role of desc.roles) {
    const entries: [string, DescribedEntry][] = [...Object.entries(role.tools), ['default_policy', role.defaultPolicy]];
    for (const [label, entry] of entries) {
      if (!entry.location) continue;
      if (entry.mode === 'deny') {
        if (entry.constraints.length > 0)
          add(
            'ignored-constraints',
            entry.location,
            `${label === 'default_policy' ? 'default_policy' : `'${label}'`} has mode: deny, so its ${entry.constraints.length} constraint(s) are never evaluated`,
          );
        continue;
      }
      let anyNever = false;
      for (const c of entry.constraints) {
        for (const pattern of regexesIn(c.ast)) {
          const problems = regexProblems(pattern);
          if (problems.length > 0)
            add('expensive-regex', c.location, `regex ${JSON.stringify(pattern)} is expensive: ${problems.join('; ')}`);
        }
        anyNever = constraintLint(role, c, add) || anyNever;
      }
      if (!anyNever && entry.constraints.length > 1) {
        const all: ConstraintAst = { kind: 'and', items: entry.constraints.map((c) => c.ast) };
        if (analyzeConstraint(all, role.consts).kind === 'never')
          add(
            'constraints-contradict',
            entry.location,
            `the constraints of ${label === 'default_policy' ? 'default_policy' : `'${label}'`} contradict each other: no call can satisfy all of them (${entry.constraints.map((c) => c.source).join('; ')})`,
          );
      }
    }
  }
}

/** Returns true when the constraint can never hold. */
function constraintLint(role: DescribedRole, c: DescribedConstraint, add: Add): boolean {
  const analysis = analyzeConstraint(c.ast, role.consts);
  const withConsts = usesConsts(c.ast) ? ` with the constants of role '${role.name}'` : '';
  if (analysis.kind === 'never') {
    add(
      'constraint-never-holds',
      c.location,
      `constraint ${JSON.stringify(c.source)} can never hold${withConsts}, so this entry never allows a call`,
      c.source,
    );
    return true;
  }
  if (analysis.kind === 'always') {
    const when = analysis.when.length > 0 ? ` whenever ${analysis.when.join(' and ')}` : '';
    add(
      'constraint-always-holds',
      c.location,
      `constraint ${JSON.stringify(c.source)} always holds${when}${withConsts}, so it restricts nothing`,
      c.source,
    );
  }
  return false;
}

/** `redundant-deny`: a tool listed only with `mode: deny`, where every listing role's default_policy denies anyway. */
function redundantDenyLints(desc: PolicyDescription, add: Add): void {
  for (const tool of desc.toolNames) {
    const listing = desc.roles.filter((r) => r.tools[tool] !== undefined);
    const onlyDeny = listing.every((r) => (r.tools[tool] as DescribedEntry).mode === 'deny');
    const defaultsDeny = listing.every((r) => r.defaultPolicy.mode === 'deny');
    if (!onlyDeny || !defaultsDeny) continue;
    for (const r of listing) {
      const e = r.tools[tool] as DescribedEntry;
      if (e.definedIn !== r.name || !e.location) continue;
      add(
        'redundant-deny',
        e.location,
        `tool '${tool}' is only ever listed with mode: deny, and default_policy already denies it in every role that lists it; this entry changes nothing`,
      );
    }
  }
}

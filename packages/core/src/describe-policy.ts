/**
 * A read-only, plain-data view of a compiled policy, for tooling (the CLI's
 * lints, documentation generators). Roles are shown after inheritance.
 */
import type { Expr } from './constraints/ast.ts';
import { DEFAULT_ROLE, type Policy, type SourceLocation } from './policy/policy.ts';

export interface DescribedConstraint {
  readonly source: string;
  readonly ast: Expr;
  readonly location: SourceLocation;
}

export interface DescribedEntry {
  readonly mode: 'allow' | 'deny' | 'approval_required';
  readonly constraints: readonly DescribedConstraint[];
  /** The role that wrote this entry. */
  readonly definedIn: string;
  readonly location: SourceLocation | undefined;
}

export interface DescribedRole {
  readonly name: string;
  readonly isMixin: boolean;
  readonly inherits: readonly string[];
  readonly location: SourceLocation;
  /** Effective tool entries (after inheritance). */
  readonly tools: Readonly<Record<string, DescribedEntry>>;
  /** Effective default policy; `definedIn` is the role itself with no location when it is the built-in deny. */
  readonly defaultPolicy: DescribedEntry;
  readonly consts: Readonly<Record<string, unknown>>;
}

export interface PolicyDescription {
  readonly digest: string;
  readonly sources: readonly string[];
  readonly hasDefaultRole: boolean;
  readonly defaultRoleName: string;
  readonly roles: readonly DescribedRole[];
  readonly toolNames: readonly string[];
}

export function describePolicy(policy: Policy): PolicyDescription {
  const entry = (e: {
    mode: DescribedEntry['mode'];
    constraints: readonly DescribedConstraint[];
    definedIn: string;
    location: SourceLocation | undefined;
  }): DescribedEntry => ({
    mode: e.mode,
    constraints: e.constraints.map((c) => ({ source: c.source, ast: c.ast, location: c.location })),
    definedIn: e.definedIn,
    location: e.location,
  });
  return {
    digest: policy.digest,
    sources: policy.sources,
    hasDefaultRole: policy.hasDefaultRole,
    defaultRoleName: DEFAULT_ROLE,
    toolNames: policy.toolNames,
    roles: [...policy.roles.values()].map((r) => ({
      name: r.name,
      isMixin: r.isMixin,
      inherits: r.inherits,
      location: r.location,
      tools: Object.fromEntries([...r.tools].map(([t, e]) => [t, entry(e)])),
      defaultPolicy: entry(r.defaultEntry),
      consts: Object.fromEntries(r.consts),
    })),
  };
}

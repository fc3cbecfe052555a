/**
 * Turns validated role documents into a compiled `Policy`: parses every
 * constraint, checks `inherits` (unknown names, cycles), applies inheritance
 * and compiles each constraint against the effective role's constants.
 *
 * Inheritance: parents left to right, then the role itself; a later entry
 * replaces an earlier one per tool (whole entry, constraints are not merged);
 * `consts` merge the same way; `default_policy` comes from the last parent
 * unless the role sets it.
 */

import { canonicalJson, sha256Hex } from '../canonical-json.ts';
import type { Expr } from '../constraints/ast.ts';
import { ConstraintCompileError, compileExpr } from '../constraints/compile.ts';
import { parseConstraint } from '../constraints/parser.ts';
import { ConstraintSyntaxError } from '../constraints/syntax-error.ts';
import { type PolicyIssue, PolicyLoadError } from '../errors.ts';
import {
  type CompiledConstraint,
  type CompiledEntry,
  type CompiledRole,
  compileCheck,
  Policy,
  type RoleResult,
  type SourceLocation,
  violationReason,
} from './policy.ts';
import type { Mode, RawRolePolicy, RawToolEntry } from './policy-schema.ts';
import { didYouMean } from './suggest.ts';
import type { YamlFile } from './yaml-file.ts';

export interface RoleSource {
  readonly name: string;
  readonly raw: RawRolePolicy;
  readonly yaml: YamlFile;
  /** Path of the role mapping inside its file. */
  readonly path: readonly (string | number)[];
}

/** An entry before compilation: parsed constraints plus where they came from. */
interface ParsedEntry {
  readonly mode: Mode;
  readonly constraints: readonly { source: string; ast: Expr; location: SourceLocation }[];
  readonly definedIn: string;
  readonly tool: string | undefined;
  readonly location: SourceLocation;
}

interface ResolvedRole {
  readonly tools: Map<string, ParsedEntry>;
  readonly consts: Map<string, unknown>;
  readonly defaultEntry: ParsedEntry | undefined;
}

export function compileRoles(sources: readonly RoleSource[], files: readonly string[]): Policy {
  const issues: PolicyIssue[] = [];
  const byName = new Map<string, RoleSource>();
  for (const src of sources) {
    if (byName.has(src.name)) {
      issues.push({
        file: src.yaml.file,
        ...src.yaml.locate(src.path),
        message: `role '${src.name}' is defined twice`,
      });
    }
    byName.set(src.name, src);
  }

  // 1. Parse every constraint and check inherits names.
  const own = new Map<string, { tools: Map<string, ParsedEntry>; defaultEntry: ParsedEntry | undefined }>();
  for (const src of byName.values()) {
    const tools = new Map<string, ParsedEntry>();
    for (const [tool, entry] of Object.entries(src.raw.tools ?? {})) {
      tools.set(tool, parseEntry(src, entry, ['tools', tool], tool, issues));
    }
    const defaultEntry = src.raw.default_policy
      ? parseEntry(src, src.raw.default_policy, ['default_policy'], undefined, issues)
      : undefined;
    own.set(src.name, { tools, defaultEntry });
    (src.raw.inherits ?? []).forEach((parent, i) => {
      if (!byName.has(parent)) {
        const hint = didYouMean(parent, byName.keys()) ?? `defined roles: ${[...byName.keys()].join(', ')}`;
        issues.push({
          file: src.yaml.file,
          ...src.yaml.locate([...src.path, 'inherits', i]),
          message: `role '${src.name}' inherits unknown role '${parent}'`,
          hint,
        });
      }
    });
  }
  if (issues.length === 0) findCycles(byName, issues);
  if (issues.length > 0) throw new PolicyLoadError(issues);

  // 2. Resolve inheritance (memoized; cycles were ruled out above).
  const resolved = new Map<string, ResolvedRole>();
  const resolve = (name: string): ResolvedRole => {
    const hit = resolved.get(name);
    if (hit) return hit;
    const src = byName.get(name) as RoleSource;
    const mine = own.get(name) as { tools: Map<string, ParsedEntry>; defaultEntry: ParsedEntry | undefined };
    const tools = new Map<string, ParsedEntry>();
    const consts = new Map<string, unknown>();
    let defaultEntry: ParsedEntry | undefined;
    for (const parent of src.raw.inherits ?? []) {
      const p = resolve(parent);
      for (const [t, e] of p.tools) tools.set(t, e);
      for (const [k, v] of p.consts) consts.set(k, v);
      defaultEntry = p.defaultEntry;
    }
    for (const [t, e] of mine.tools) tools.set(t, e);
    for (const [k, v] of Object.entries(src.raw.consts ?? {})) consts.set(k, v);
    if (mine.defaultEntry) defaultEntry = mine.defaultEntry;
    const role = { tools, consts, defaultEntry };
    resolved.set(name, role);
    return role;
  };

  // 3. Compile every effective entry against its role's constants.
  const roles = new Map<string, CompiledRole>();
  const seen = new Set<string>();
  for (const src of byName.values()) {
    const r = resolve(src.name);
    const scope = { role: src.name, consts: r.consts };
    const compile = (e: ParsedEntry): CompiledEntry => {
      const constraints = Object.freeze(
        e.constraints.map((c): CompiledConstraint => {
          try {
            return Object.freeze({ ...shared(c), test: compileExpr(c.ast, scope) });
          } catch (err) {
            if (!(err instanceof ConstraintCompileError)) throw err;
            const key = `${c.location.file}:${c.location.line}:${c.location.column}:${err.message}`;
            if (!seen.has(key)) {
              seen.add(key);
              issues.push({
                ...c.location,
                message: `invalid constraint ${JSON.stringify(c.source)}: ${err.message}`,
                ...(err.hint ? { hint: err.hint } : {}),
              });
            }
            return Object.freeze({ ...shared(c), test: () => undefined });
          }
        }),
      );
      return Object.freeze({
        mode: e.mode,
        definedIn: e.definedIn,
        tool: e.tool,
        location: e.location,
        constraints,
        check: compileCheck(constraints.map((c) => c.test)),
        memo: { verdict: undefined },
        verdicts: new Map<string, RoleResult>(),
        denials: [],
      });
    };
    const tools = new Map<string, CompiledEntry>();
    for (const [t, e] of r.tools) tools.set(t, compile(e));
    const defaultEntry: CompiledEntry = r.defaultEntry
      ? compile(r.defaultEntry)
      : Object.freeze({
          mode: 'deny',
          constraints: [],
          definedIn: src.name,
          tool: undefined,
          location: undefined,
          check: () => -1,
          memo: { verdict: undefined },
          verdicts: new Map<string, RoleResult>(),
          denials: [],
        });
    roles.set(
      src.name,
      Object.freeze({
        name: src.name,
        isMixin: src.raw.is_mixin === true,
        inherits: Object.freeze([...(src.raw.inherits ?? [])]),
        tools,
        defaultEntry,
        consts: r.consts,
        location: { file: src.yaml.file, ...src.yaml.locateKey(src.path) },
      }),
    );
  }
  if (issues.length > 0) throw new PolicyLoadError(issues);

  return new Policy(roles, digestOf(byName), files);
}

function shared(c: { source: string; ast: Expr; location: SourceLocation }) {
  return {
    source: c.source,
    ast: c.ast,
    location: c.location,
    alone: Object.freeze([c.source]),
    aloneReason: violationReason([c.source]),
  };
}

function parseEntry(
  src: RoleSource,
  raw: RawToolEntry,
  rel: (string | number)[],
  tool: string | undefined,
  issues: PolicyIssue[],
): ParsedEntry {
  const path = [...src.path, ...rel];
  const constraints = (raw.constraints ?? []).flatMap((source, i) => {
    const cPath = [...path, 'constraints', i];
    const location = { file: src.yaml.file, ...src.yaml.locate(cPath) };
    try {
      return [{ source, ast: parseConstraint(source), location }];
    } catch (e) {
      if (!(e instanceof ConstraintSyntaxError)) throw e;
      const pos = src.yaml.locateInString(cPath, e.offset);
      issues.push({
        file: src.yaml.file,
        ...pos,
        message: `invalid constraint ${JSON.stringify(source)}: ${e.message}`,
        ...(e.hint ? { hint: e.hint } : {}),
      });
      return [];
    }
  });
  return {
    mode: raw.mode ?? 'deny',
    constraints,
    definedIn: src.name,
    tool,
    location: { file: src.yaml.file, ...src.yaml.locate(path) },
  };
}

function findCycles(byName: ReadonlyMap<string, RoleSource>, issues: PolicyIssue[]): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      const key = [...cycle].sort().join(',');
      if (!reported.has(key)) {
        reported.add(key);
        const src = byName.get(name) as RoleSource;
        issues.push({
          file: src.yaml.file,
          ...src.yaml.locate([...src.path, 'inherits']),
          message: `inheritance cycle: ${cycle.join(' -> ')}`,
          hint: 'remove one of these inherits entries',
        });
      }
      return;
    }
    state.set(name, 'visiting');
    for (const parent of byName.get(name)?.raw.inherits ?? []) visit(parent, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of byName.keys()) visit(name, []);
}

/** Digest of the normalized policy: same meaning, same digest, whatever the formatting or file split. */
function digestOf(byName: ReadonlyMap<string, RoleSource>): string {
  const entry = (e: RawToolEntry | undefined) =>
    e ? { mode: e.mode ?? 'deny', constraints: e.constraints ?? [] } : null;
  // Object.fromEntries defines own properties: a role or tool named
  // `__proto__` is a key here like any other (an assignment would set the
  // prototype and leave that role out of the digest).
  const normalized = Object.fromEntries(
    [...byName].map(([name, { raw: r }]) => [
      name,
      {
        inherits: r.inherits ?? [],
        is_mixin: r.is_mixin === true,
        default_policy: entry(r.default_policy),
        tools: Object.fromEntries(Object.entries(r.tools ?? {}).map(([t, e]) => [t, entry(e)])),
        consts: r.consts ?? {},
      },
    ]),
  );
  return sha256Hex(canonicalJson({ version: 1, roles: normalized }));
}

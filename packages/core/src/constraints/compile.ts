/**
 * Compiles a parsed constraint into a closure. Evaluation is three-valued:
 * `true`, `false`, or `undefined` (a missing path, a type mismatch, any
 * evaluation error). `undefined` is never true: `not undefined` and
 * `undefined != x` stay undefined, and a constraint holds only when it
 * evaluates to exactly `true`. `and` / `or` follow Kleene logic
 * (`false and undefined` is false, `true or undefined` is true).
 *
 * Constants are inlined at compile time, regexes are compiled once with
 * re2js (a linear-time RE2 port, so no pattern can backtrack catastrophically).
 *
 * Speed without code generation: a constraint is compiled per role (so the
 * role name and constants are known here), a compiled closure takes the call
 * as plain parameters (nothing is allocated per call), and the common shapes
 * (`args.x <op> <constant>`, `args.x in consts.list`) get closures that do the
 * comparison directly instead of calling one closure per operand.
 */
import { RE2JS } from 're2js';
import type { User } from '../user-scope.ts';
import type { CompareOp, Expr, Value } from './ast.ts';
import { countOf, jsonEqual, MISSING, type Operand, ownMember, step } from './json-value.ts';

export type Tri = boolean | undefined;

/** What a constraint is compiled against: the role being decided and its constants. */
export interface CompileScope {
  readonly role: string;
  readonly consts: ReadonlyMap<string, unknown>;
}

/**
 * A compiled constraint. `args` is the argument snapshot passed through
 * `argsRoot` (a plain object, or MISSING), `user` the caller
 * (`ctx.*` and `user.id` read from it; undefined means no user in scope),
 * `tool` the tool being called, `item` the current element inside
 * every()/any().
 */
export type CompiledExpr = (args: unknown, user: User | undefined, tool: string, item: unknown) => Tri;
export type CompiledValue = (args: unknown, user: User | undefined, tool: string, item: unknown) => Operand;

/** A constraint that parses but cannot be compiled (undefined const, bad regex, ...). */
export class ConstraintCompileError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'ConstraintCompileError';
    this.hint = hint;
  }
}

export function compileExpr(expr: Expr, scope: CompileScope): CompiledExpr {
  switch (expr.kind) {
    case 'or': {
      const items = expr.items.map((e) => compileExpr(e, scope));
      return (a, u, t, i) => {
        let result: Tri = false;
        for (const f of items) {
          const r = f(a, u, t, i);
          if (r === true) return true;
          if (r === undefined) result = undefined;
        }
        return result;
      };
    }
    case 'and': {
      const items = expr.items.map((e) => compileExpr(e, scope));
      return (a, u, t, i) => {
        let result: Tri = true;
        for (const f of items) {
          const r = f(a, u, t, i);
          if (r === false) return false;
          if (r === undefined) result = undefined;
        }
        return result;
      };
    }
    case 'not': {
      const inner = compileExpr(expr.item, scope);
      return (a, u, t, i) => {
        const r = inner(a, u, t, i);
        return r === undefined ? undefined : !r;
      };
    }
    case 'compare':
      if ((expr.op === 'in' || expr.op === 'not in') && expr.right.kind === 'const') {
        const list = scope.consts.get(expr.right.name);
        if (scope.consts.has(expr.right.name) && !Array.isArray(list)) {
          throw new ConstraintCompileError(`consts.${expr.right.name} is not a list, so '${expr.op}' cannot use it`);
        }
      }
      return compileCompare(expr.op, expr.left, expr.right, scope);
    case 'call': {
      const subject = compileValue(expr.subject, scope);
      const arg = compileValue(expr.arg, scope);
      const fn = expr.fn;
      return (a, u, t, i) => {
        const s = subject(a, u, t, i);
        const x = arg(a, u, t, i);
        if (fn === 'contains' && Array.isArray(s)) {
          if (x === MISSING) return undefined;
          let result: Tri = false;
          for (const item of s) {
            const eq = jsonEqual(item, x);
            if (eq === true) return true;
            if (eq === undefined) result = undefined;
          }
          return result;
        }
        if (typeof s !== 'string' || typeof x !== 'string') return undefined;
        if (fn === 'startswith') return s.startsWith(x);
        if (fn === 'endswith') return s.endsWith(x);
        return s.includes(x);
      };
    }
    case 'matches': {
      const subject = compileValue(expr.subject, scope);
      const re = compileRegex(expr.pattern);
      return (a, u, t, i) => {
        const s = subject(a, u, t, i);
        if (typeof s !== 'string') return undefined;
        try {
          return re.matcher(s).find();
        } catch {
          return undefined;
        }
      };
    }
    case 'quantifier': {
      const subject = compileValue(expr.subject, scope);
      const body = compileExpr(expr.body, scope);
      const every = expr.fn === 'every';
      return (a, u, t, i) => {
        const list = subject(a, u, t, i);
        if (!Array.isArray(list)) return undefined;
        let result: Tri = every;
        for (const x of list) {
          const r = body(a, u, t, x);
          if (r === undefined) result = undefined;
          else if (r !== every) return r; // every: a false decides; any: a true decides
        }
        return result;
      };
    }
  }
}

export function compileRegex(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    throw new ConstraintCompileError(
      `regex ${JSON.stringify(pattern)} is not supported by the linear-time engine: ${(e as Error).message}`,
      'lookarounds and backreferences are not available (RE2 syntax)',
    );
  }
}

/** The name in an `args.<name>` operand, or undefined for any other operand. */
function argsKeyOf(value: Value): string | undefined {
  if (value.kind !== 'path' || value.root !== 'args' || value.segments.length !== 1) return undefined;
  const k = value.segments[0];
  return typeof k === 'string' ? k : undefined;
}

/** The value of a literal or `consts.x` operand, known at compile time; `MISSING` for anything else. */
function constantOf(value: Value, scope: CompileScope): Operand {
  if (value.kind === 'literal') return value.value;
  if (value.kind === 'const' && scope.consts.has(value.name)) return scope.consts.get(value.name);
  return MISSING;
}

function compileCompare(op: CompareOp, leftNode: Value, rightNode: Value, scope: CompileScope): CompiledExpr {
  const left = compileValue(leftNode, scope);
  const right = compileValue(rightNode, scope);
  const k = constantOf(rightNode, scope);
  // `args.<name>` on the left is read in place: one closure call per comparison, not two.
  const key = argsKeyOf(leftNode);
  switch (op) {
    case '==':
    case '!=': {
      const negate = op === '!=';
      if (typeof k === 'string') {
        // `x == "s"`: strings compare by identity; anything else goes through jsonEqual.
        return (a, u, t, i) => {
          const l = key === undefined ? left(a, u, t, i) : ownMember(a, key);
          if (typeof l === 'string') return (l === k) !== negate;
          if (l === MISSING) return undefined;
          const eq = jsonEqual(l, k);
          return eq === undefined ? undefined : eq !== negate;
        };
      }
      return (a, u, t, i) => {
        const l = left(a, u, t, i);
        const r = right(a, u, t, i);
        if (l === MISSING || r === MISSING) return undefined;
        const eq = jsonEqual(l, r);
        return eq === undefined ? undefined : eq !== negate;
      };
    }
    case 'in':
    case 'not in': {
      const negate = op === 'not in';
      const generic: CompiledExpr = (a, u, t, i) => {
        const l = left(a, u, t, i);
        const list = right(a, u, t, i);
        if (l === MISSING || !Array.isArray(list)) return undefined;
        let found: Tri = false;
        for (const x of list) {
          const eq = jsonEqual(l, x);
          if (eq === true) {
            found = true;
            break;
          }
          if (eq === undefined) found = undefined;
        }
        return found === undefined ? undefined : found !== negate;
      };
      if (Array.isArray(k) && k.every((x) => typeof x === 'string')) {
        // A list of strings: a string is in it exactly when the set has it.
        const members = new Set<string>(k);
        return (a, u, t, i) => {
          const l = key === undefined ? left(a, u, t, i) : ownMember(a, key);
          return typeof l === 'string' ? members.has(l) !== negate : generic(a, u, t, i);
        };
      }
      return generic;
    }
    default:
      return compileOrder(op, left, right, k, key);
  }
}

/**
 * Ordering only between two finite numbers or two strings. Against a finite
 * number constant (the common `args.amount <= 500`), each operator gets its
 * own closure, so there is no per-call operator dispatch.
 */
function compileOrder(
  op: '<' | '<=' | '>' | '>=',
  left: CompiledValue,
  right: CompiledValue,
  k: Operand,
  key: string | undefined,
): CompiledExpr {
  if (typeof k === 'number' && Number.isFinite(k)) {
    const isNum = (l: Operand): l is number => typeof l === 'number' && Number.isFinite(l);
    switch (op) {
      case '<':
        return (a, u, t, i) => {
          const l = key === undefined ? left(a, u, t, i) : ownMember(a, key);
          return isNum(l) ? l < k : undefined;
        };
      case '<=':
        return (a, u, t, i) => {
          const l = key === undefined ? left(a, u, t, i) : ownMember(a, key);
          return isNum(l) ? l <= k : undefined;
        };
      case '>':
        return (a, u, t, i) => {
          const l = key === undefined ? left(a, u, t, i) : ownMember(a, key);
          return isNum(l) ? l > k : undefined;
        };
      case '>=':
        return (a, u, t, i) => {
          const l = key === undefined ? left(a, u, t, i) : ownMember(a, key);
          return isNum(l) ? l >= k : undefined;
        };
    }
  }
  const test = ORDER[op];
  return (a, u, t, i) => {
    const l = left(a, u, t, i);
    const r = right(a, u, t, i);
    if (typeof l === 'number' && typeof r === 'number') {
      return Number.isFinite(l) && Number.isFinite(r) ? test(l, r) : undefined;
    }
    if (typeof l === 'string' && typeof r === 'string') return test(l, r);
    return undefined;
  };
}

const ORDER: Record<'<' | '<=' | '>' | '>=', (a: number | string, b: number | string) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

export function compileValue(value: Value, scope: CompileScope): CompiledValue {
  switch (value.kind) {
    case 'literal': {
      const v = value.value;
      return () => v;
    }
    case 'const': {
      const consts = scope.consts;
      if (!consts.has(value.name)) {
        const known = [...consts.keys()];
        throw new ConstraintCompileError(
          `undefined constant consts.${value.name}`,
          known.length > 0 ? `defined constants: ${known.join(', ')}` : 'define it under consts:',
        );
      }
      const v = consts.get(value.name);
      return () => v;
    }
    case 'role': {
      const role = scope.role;
      return () => role;
    }
    case 'tool':
      return (_a, _u, t) => t;
    case 'count': {
      const inner = compileValue(value.arg, scope);
      return (a, u, t, i) => countOf(inner(a, u, t, i));
    }
    case 'path':
      return compilePath(value.root, value.segments);
  }
}

function compilePath(root: 'args' | 'ctx' | 'user' | 'item', segments: readonly (string | number)[]): CompiledValue {
  // `user.id` is the caller's id; the parser allows no other `user.` path.
  if (root === 'user') return (_a, u) => u?.id ?? MISSING;
  if (root === 'args') {
    if (segments.length === 0) return (a) => a;
    const k = segments[0];
    if (segments.length === 1 && typeof k === 'string') return (a) => ownMember(a, k);
    return (a) => walk(a, segments);
  }
  if (root === 'ctx') {
    if (segments.length === 0) return (_a, u) => u?.attributes ?? MISSING;
    return (_a, u) => walk(u?.attributes ?? MISSING, segments);
  }
  if (segments.length === 0) return (_a, _u, _t, i) => i;
  return (_a, _u, _t, i) => walk(i, segments);
}

function walk(base: Operand, segments: readonly (string | number)[]): Operand {
  let v = base;
  for (const k of segments) {
    if (v === MISSING) return MISSING;
    v = step(v, k);
  }
  return v;
}

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
 */
import { RE2JS } from 're2js';
import type { CompareOp, Expr, Value } from './ast.ts';
import { countOf, jsonEqual, MISSING, type Operand, step } from './json-value.ts';

export type Tri = boolean | undefined;

/** What a constraint can see while it is evaluated. */
export interface EvalEnv {
  readonly args: unknown;
  /** The caller's attributes (`ctx.<name>`); MISSING when there are none. */
  readonly ctx: unknown;
  /** The caller's id, or MISSING when no user is in scope. */
  readonly userId: unknown;
  /** The role being evaluated. */
  readonly role: string;
  readonly tool: string;
}

export type CompiledExpr = (env: EvalEnv, item: unknown) => Tri;
type CompiledValue = (env: EvalEnv, item: unknown) => Operand;

/** A constraint that parses but cannot be compiled (undefined const, bad regex, ...). */
export class ConstraintCompileError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'ConstraintCompileError';
    this.hint = hint;
  }
}

export function compileExpr(expr: Expr, consts: ReadonlyMap<string, unknown>): CompiledExpr {
  switch (expr.kind) {
    case 'or': {
      const items = expr.items.map((e) => compileExpr(e, consts));
      return (env, item) => {
        let result: Tri = false;
        for (const f of items) {
          const r = f(env, item);
          if (r === true) return true;
          if (r === undefined) result = undefined;
        }
        return result;
      };
    }
    case 'and': {
      const items = expr.items.map((e) => compileExpr(e, consts));
      return (env, item) => {
        let result: Tri = true;
        for (const f of items) {
          const r = f(env, item);
          if (r === false) return false;
          if (r === undefined) result = undefined;
        }
        return result;
      };
    }
    case 'not': {
      const inner = compileExpr(expr.item, consts);
      return (env, item) => {
        const r = inner(env, item);
        return r === undefined ? undefined : !r;
      };
    }
    case 'compare':
      if ((expr.op === 'in' || expr.op === 'not in') && expr.right.kind === 'const') {
        const list = consts.get(expr.right.name);
        if (consts.has(expr.right.name) && !Array.isArray(list)) {
          throw new ConstraintCompileError(`consts.${expr.right.name} is not a list, so '${expr.op}' cannot use it`);
        }
      }
      return compileCompare(expr.op, compileValue(expr.left, consts), compileValue(expr.right, consts));
    case 'call': {
      const subject = compileValue(expr.subject, consts);
      const arg = compileValue(expr.arg, consts);
      const fn = expr.fn;
      return (env, item) => {
        const s = subject(env, item);
        const a = arg(env, item);
        if (fn === 'contains' && Array.isArray(s)) {
          if (a === MISSING) return undefined;
          let result: Tri = false;
          for (const x of s) {
            const eq = jsonEqual(x, a);
            if (eq === true) return true;
            if (eq === undefined) result = undefined;
          }
          return result;
        }
        if (typeof s !== 'string' || typeof a !== 'string') return undefined;
        if (fn === 'startswith') return s.startsWith(a);
        if (fn === 'endswith') return s.endsWith(a);
        return s.includes(a);
      };
    }
    case 'matches': {
      const subject = compileValue(expr.subject, consts);
      const re = compileRegex(expr.pattern);
      return (env, item) => {
        const s = subject(env, item);
        if (typeof s !== 'string') return undefined;
        try {
          return re.matcher(s).find();
        } catch {
          return undefined;
        }
      };
    }
    case 'quantifier': {
      const subject = compileValue(expr.subject, consts);
      const body = compileExpr(expr.body, consts);
      const every = expr.fn === 'every';
      return (env, item) => {
        const list = subject(env, item);
        if (!Array.isArray(list)) return undefined;
        let result: Tri = every;
        for (const x of list) {
          const r = body(env, x);
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

function compileCompare(op: CompareOp, left: CompiledValue, right: CompiledValue): CompiledExpr {
  switch (op) {
    case '==':
      return (env, item) => {
        const l = left(env, item);
        const r = right(env, item);
        return l === MISSING || r === MISSING ? undefined : jsonEqual(l, r);
      };
    case '!=':
      return (env, item) => {
        const l = left(env, item);
        const r = right(env, item);
        if (l === MISSING || r === MISSING) return undefined;
        const eq = jsonEqual(l, r);
        return eq === undefined ? undefined : !eq;
      };
    case 'in':
    case 'not in': {
      const negate = op === 'not in';
      return (env, item) => {
        const l = left(env, item);
        const list = right(env, item);
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
    }
    default: {
      // Ordering only between two finite numbers or two strings.
      const test = ORDER[op];
      return (env, item) => {
        const l = left(env, item);
        const r = right(env, item);
        if (typeof l === 'number' && typeof r === 'number') {
          return Number.isFinite(l) && Number.isFinite(r) ? test(l, r) : undefined;
        }
        if (typeof l === 'string' && typeof r === 'string') return test(l, r);
        return undefined;
      };
    }
  }
}

const ORDER: Record<'<' | '<=' | '>' | '>=', (a: number | string, b: number | string) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

export function compileValue(value: Value, consts: ReadonlyMap<string, unknown>): CompiledValue {
  switch (value.kind) {
    case 'literal': {
      const v = value.value;
      return () => v;
    }
    case 'const': {
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
    case 'role':
      return (env) => env.role;
    case 'tool':
      return (env) => env.tool;
    case 'count': {
      const inner = compileValue(value.arg, consts);
      return (env, item) => countOf(inner(env, item));
    }
    case 'path': {
      const segments = value.segments;
      const root = value.root;
      const base: CompiledValue =
        root === 'args'
          ? (env) => env.args
          : root === 'ctx'
            ? (env) => env.ctx
            : root === 'user'
              ? (env) => env.userId
              : (_env, item) => item;
      if (root === 'user') return base;
      if (segments.length === 0) return base;
      if (segments.length === 1) {
        const k = segments[0] as string | number;
        return (env, item) => {
          const b = base(env, item);
          return b === MISSING ? MISSING : step(b, k);
        };
      }
      return (env, item) => {
        let v = base(env, item);
        for (const k of segments) {
          if (v === MISSING) return MISSING;
          v = step(v, k);
        }
        return v;
      };
    }
  }
}

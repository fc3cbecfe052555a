/**
 * A deliberately naive reference evaluator for the constraint language, used
 * only by the property tests. It walks the syntax tree directly (no
 * compilation, no fast paths) and states each rule of the spec in the most
 * literal way, so a disagreement with the real engine points at a bug.
 *
 * Truth values: 'T', 'F', 'U' (undefined). Operand values: { v } or NONE.
 */
import type { Expr, Value } from '../constraints/ast.ts';

type Truth = 'T' | 'F' | 'U';
const NONE = { none: true } as const;
type Val = { v: unknown } | typeof NONE;

export interface RefEnv {
  args: unknown;
  ctx: unknown; // undefined = no attributes
  userId: string | undefined;
  role: string;
  tool: string;
  consts: Record<string, unknown>;
}

function isJson(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return false;
    return Object.keys(v as object).every((k) => isJson((v as Record<string, unknown>)[k]));
  }
  return false;
}

/** JSON equality via canonical serialization: the simplest correct definition. */
function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  if (typeof v === 'number' && Object.is(v, -0)) return '0';
  return JSON.stringify(v);
}

function equal(a: unknown, b: unknown): Truth {
  if (!isJson(a) || !isJson(b)) return 'U';
  return canon(a) === canon(b) ? 'T' : 'F';
}

function get(container: unknown, key: string | number): Val {
  if (Array.isArray(container)) {
    return typeof key === 'number' && key >= 0 && key < container.length ? { v: container[key] } : NONE;
  }
  if (container !== null && typeof container === 'object' && typeof key === 'string') {
    const proto = Object.getPrototypeOf(container);
    if (proto !== Object.prototype && proto !== null) return NONE;
    return Object.keys(container).includes(key) ? { v: (container as Record<string, unknown>)[key] } : NONE;
  }
  return NONE;
}

function value(node: Value, env: RefEnv, item: Val): Val {
  switch (node.kind) {
    case 'literal':
      return { v: node.value };
    case 'const':
      return node.name in env.consts ? { v: env.consts[node.name] } : NONE;
    case 'role':
      return { v: env.role };
    case 'tool':
      return { v: env.tool };
    case 'count': {
      const x = value(node.arg, env, item);
      if (x === NONE) return NONE;
      const v = (x as { v: unknown }).v;
      if (typeof v === 'string') return { v: Array.from(v).length };
      if (Array.isArray(v)) return { v: v.length };
      if (v !== null && typeof v === 'object' && isJson(v)) return { v: Object.keys(v).length };
      return NONE;
    }
    case 'path': {
      let cur: Val;
      if (node.root === 'args') cur = { v: env.args };
      else if (node.root === 'ctx') cur = env.ctx === undefined ? NONE : { v: env.ctx };
      else if (node.root === 'user') return env.userId === undefined ? NONE : { v: env.userId };
      else cur = item;
      for (const seg of node.segments) {
        if (cur === NONE) return NONE;
        cur = get((cur as { v: unknown }).v, seg);
      }
      return cur;
    }
  }
}

const not = (t: Truth): Truth => (t === 'T' ? 'F' : t === 'F' ? 'T' : 'U');

export function refEval(expr: Expr, env: RefEnv, item: Val = NONE): Truth {
  switch (expr.kind) {
    case 'or': {
      const rs = expr.items.map((e) => refEval(e, env, item));
      return rs.includes('T') ? 'T' : rs.includes('U') ? 'U' : 'F';
    }
    case 'and': {
      const rs = expr.items.map((e) => refEval(e, env, item));
      return rs.includes('F') ? 'F' : rs.includes('U') ? 'U' : 'T';
    }
    case 'not':
      return not(refEval(expr.item, env, item));
    case 'compare': {
      const l = value(expr.left, env, item);
      const r = value(expr.right, env, item);
      if (l === NONE || r === NONE) return 'U';
      const a = (l as { v: unknown }).v;
      const b = (r as { v: unknown }).v;
      switch (expr.op) {
        case '==':
          return equal(a, b);
        case '!=':
          return not(equal(a, b));
        case 'in':
        case 'not in': {
          if (!Array.isArray(b)) return 'U';
          const rs = b.map((x) => equal(a, x));
          const found: Truth = rs.includes('T') ? 'T' : rs.includes('U') ? 'U' : 'F';
          return expr.op === 'in' ? found : not(found);
        }
        default: {
          const bothNumbers =
            typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b);
          const bothStrings = typeof a === 'string' && typeof b === 'string';
          if (!bothNumbers && !bothStrings) return 'U';
          const x = a as number | string;
          const y = b as number | string;
          const holds = expr.op === '<' ? x < y : expr.op === '<=' ? x <= y : expr.op === '>' ? x > y : x >= y;
          return holds ? 'T' : 'F';
        }
      }
    }
    case 'call': {
      const s = value(expr.subject, env, item);
      const a = value(expr.arg, env, item);
      if (s === NONE || a === NONE) return 'U';
      const sv = (s as { v: unknown }).v;
      const av = (a as { v: unknown }).v;
      if (expr.fn === 'contains' && Array.isArray(sv)) {
        const rs = sv.map((x) => equal(x, av));
        return rs.includes('T') ? 'T' : rs.includes('U') ? 'U' : 'F';
      }
      if (typeof sv !== 'string' || typeof av !== 'string') return 'U';
      if (expr.fn === 'startswith') return sv.startsWith(av) ? 'T' : 'F';
      if (expr.fn === 'endswith') return sv.endsWith(av) ? 'T' : 'F';
      return sv.includes(av) ? 'T' : 'F';
    }
    case 'matches': {
      const s = value(expr.subject, env, item);
      if (s === NONE || typeof (s as { v: unknown }).v !== 'string') return 'U';
      // Patterns in the property tests are plain literals, so JS RegExp agrees with RE2.
      return new RegExp(expr.pattern, 'u').test((s as { v: string }).v) ? 'T' : 'F';
    }
    case 'quantifier': {
      const s = value(expr.subject, env, item);
      if (s === NONE || !Array.isArray((s as { v: unknown }).v)) return 'U';
      const rs = (s as { v: unknown[] }).v.map((x) => refEval(expr.body, env, { v: x }));
      if (expr.fn === 'every') return rs.includes('F') ? 'F' : rs.includes('U') ? 'U' : 'T';
      return rs.includes('T') ? 'T' : rs.includes('U') ? 'U' : 'F';
    }
  }
}

/**
 * Decides whether a constraint can never hold, or always holds, by a small
 * and sound case analysis (no solver).
 *
 * Each comparison of one path (or `count(path)`) against literals is an
 * atom over that path's value. Only the literals it is compared with matter,
 * so the value space splits into finitely many regions (each literal, the
 * gaps between them, below and above, every other JSON type, missing), and
 * one representative per region is enough. Everything else (string
 * functions, regexes, quantifiers, path-vs-path comparisons) is an opaque
 * atom that may be true, false or undefined independently. Evaluating the
 * three-valued logic of core (Kleene and/or/not; a constraint holds only when
 * exactly `true`) over every combination then gives:
 *
 * - never: no combination is `true`, so no call can satisfy it;
 * - always: every combination where each path has the type of its literals
 *   is `true`, so it checks nothing but presence and type.
 *
 * Treating opaque atoms and different paths as independent only adds
 * combinations that cannot occur, which can hide a finding but never invent
 * one. Representatives that do not exist (an empty gap) likewise only hide.
 */
import type { ConstraintAst, ConstraintValue } from '@hexgate/core';

export type Analysis =
  | { readonly kind: 'never' }
  | { readonly kind: 'always'; readonly when: readonly string[] }
  | { readonly kind: 'unknown' };

type Tri = true | false | undefined;
const MISSING = Symbol('missing');
type Sample = unknown;

type Scalar = string | number | boolean | null;

interface Variable {
  readonly key: string;
  readonly isCount: boolean;
  readonly literals: Scalar[];
}

type Node =
  | { readonly kind: 'and' | 'or'; readonly items: readonly Node[] }
  | { readonly kind: 'not'; readonly item: Node }
  | { readonly kind: 'const'; readonly value: Tri }
  | {
      readonly kind: 'cmp';
      readonly variable: number;
      readonly op: string;
      readonly literal: Scalar | readonly Scalar[];
    }
  | { readonly kind: 'opaque'; readonly index: number };

/** Above this many combinations the analysis gives up (answers `unknown`). */
const MAX_COMBINATIONS = 50_000;

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

class Builder {
  readonly variables: Variable[] = [];
  readonly opaque: string[] = [];

  constructor(private readonly consts: Readonly<Record<string, unknown>>) {}

  build(e: ConstraintAst): Node {
    switch (e.kind) {
      case 'and':
      case 'or':
        return { kind: e.kind, items: e.items.map((i) => this.build(i)) };
      case 'not':
        return { kind: 'not', item: this.build(e.item) };
      case 'compare':
        return this.compare(e.op, e.left, e.right) ?? this.opaqueAtom(e);
      default:
        return this.opaqueAtom(e);
    }
  }

  private opaqueAtom(e: ConstraintAst): Node {
    // The same sub-expression always has the same value: share its atom.
    const key = JSON.stringify(e);
    let index = this.opaque.indexOf(key);
    if (index < 0) index = this.opaque.push(key) - 1;
    return { kind: 'opaque', index };
  }

  /** A literal value (literals and constants), or MISSING when the operand is not one. */
  private literal(v: ConstraintValue): unknown {
    if (v.kind === 'literal') return v.value;
    if (v.kind === 'const' && Object.hasOwn(this.consts, v.name)) return this.consts[v.name];
    return MISSING;
  }

  private variableKey(v: ConstraintValue): { key: string; isCount: boolean } | undefined {
    if (v.kind === 'path' && v.root !== 'item') return { key: pathKey(v), isCount: false };
    if (v.kind === 'count' && v.arg.kind === 'path' && v.arg.root !== 'item')
      return { key: `count(${pathKey(v.arg)})`, isCount: true };
    return undefined;
  }

  private variable(key: string, isCount: boolean, literals: readonly Scalar[]): number {
    let index = this.variables.findIndex((x) => x.key === key);
    if (index < 0) index = this.variables.push({ key, isCount, literals: [] }) - 1;
    (this.variables[index] as Variable).literals.push(...literals);
    return index;
  }

  private compare(op: string, left: ConstraintValue, right: ConstraintValue): Node | undefined {
    const l = this.literal(left);
    const r = this.literal(right);
    if (op === 'in' || op === 'not in') {
      const v = this.variableKey(left);
      if (!v || !Array.isArray(r) || !r.every(isScalar)) return undefined;
      return { kind: 'cmp', variable: this.variable(v.key, v.isCount, r), op, literal: r };
    }
    if (l !== MISSING && r !== MISSING) {
      if (!isScalar(l) || !isScalar(r)) return undefined;
      return { kind: 'const', value: compareScalar(op, l, r) };
    }
    let flipped = op;
    let v = this.variableKey(left);
    let lit = r;
    if (!v) {
      v = this.variableKey(right);
      lit = l;
      flipped = FLIP[op] ?? op;
    }
    if (!v || !isScalar(lit)) return undefined;
    return { kind: 'cmp', variable: this.variable(v.key, v.isCount, [lit]), op: flipped, literal: lit };
  }
}

const FLIP: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' };

function pathKey(p: Extract<ConstraintValue, { kind: 'path' }>): string {
  return p.text;
}

function compareScalar(op: string, a: unknown, b: Scalar): Tri {
  if (a === MISSING) return undefined;
  switch (op) {
    case '==':
      return isScalar(a) ? a === b : false;
    case '!=':
      return isScalar(a) ? a !== b : true;
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const comparable =
        (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');
      if (!comparable) return undefined;
      const x = a as number | string;
      if (op === '<') return x < b;
      if (op === '<=') return x <= b;
      if (op === '>') return x > b;
      return x >= b;
    }
    default:
      return undefined;
  }
}

function evaluate(node: Node, values: readonly Sample[], opaque: readonly Tri[]): Tri {
  switch (node.kind) {
    case 'const':
      return node.value;
    case 'opaque':
      return opaque[node.index];
    case 'not': {
      const r = evaluate(node.item, values, opaque);
      return r === undefined ? undefined : !r;
    }
    case 'and': {
      let result: Tri = true;
      for (const item of node.items) {
        const r = evaluate(item, values, opaque);
        if (r === false) return false;
        if (r === undefined) result = undefined;
      }
      return result;
    }
    case 'or': {
      let result: Tri = false;
      for (const item of node.items) {
        const r = evaluate(item, values, opaque);
        if (r === true) return true;
        if (r === undefined) result = undefined;
      }
      return result;
    }
    case 'cmp': {
      const v = values[node.variable];
      if (node.op === 'in' || node.op === 'not in') {
        if (v === MISSING) return undefined;
        const found = (node.literal as readonly Scalar[]).some((x) => isScalar(v) && v === x);
        return node.op === 'in' ? found : !found;
      }
      return compareScalar(node.op, v, node.literal as Scalar);
    }
  }
}

/** One number per region of the real line cut at the literals. */
function numberSamples(literals: readonly number[]): number[] {
  const sorted = [...new Set(literals)].sort((a, b) => a - b);
  if (sorted.length === 0) return [0];
  const out = [...sorted];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const mid = (sorted[i] as number) / 2 + (sorted[i + 1] as number) / 2;
    if (mid > (sorted[i] as number) && mid < (sorted[i + 1] as number)) out.push(mid);
  }
  const min = sorted[0] as number;
  const max = sorted[sorted.length - 1] as number;
  const below = [min - 1, min - Math.abs(min), -Number.MAX_VALUE].find((x) => Number.isFinite(x) && x < min);
  const above = [max + 1, max + Math.abs(max), Number.MAX_VALUE].find((x) => Number.isFinite(x) && x > max);
  if (below !== undefined) out.push(below);
  if (above !== undefined) out.push(above);
  return out;
}

/** Non-negative integers, one per region (what `count()` can return). */
function countSamples(literals: readonly number[]): number[] {
  const out = new Set<number>([0]);
  for (const l of literals) {
    if (Number.isInteger(l) && l >= 0) out.add(l);
    const next = Math.floor(l) + 1;
    if (next >= 0 && Number.isSafeInteger(next)) out.add(next);
  }
  return [...out];
}

/**
 * One string per region of the code-unit order cut at the literals: the
 * literals, `s + "\0"` (the smallest string after `s`, so in the gap after it
 * whenever that gap is not empty), and "" (below every other string).
 */
function stringSamples(literals: readonly string[]): string[] {
  const out = new Set<string>(['']);
  for (const s of literals) {
    out.add(s);
    out.add(`${s}\u0000`);
  }
  return [...out];
}

function samplesFor(v: Variable): { all: Sample[]; typed: Sample[] } {
  const numbers = v.literals.filter((l): l is number => typeof l === 'number');
  const strings = v.literals.filter((l): l is string => typeof l === 'string');
  if (v.isCount) {
    const ints = countSamples(numbers);
    return { all: [MISSING, ...ints], typed: ints };
  }
  const nums = numberSamples(numbers);
  const strs = stringSamples(strings);
  const others: Sample[] = [true, false, null, [], {}];
  const typed: Sample[] = [
    ...(numbers.length > 0 ? nums : []),
    ...(strings.length > 0 ? strs : []),
    ...(v.literals.some((l) => typeof l === 'boolean') ? [true, false] : []),
    ...(v.literals.some((l) => l === null) ? [null] : []),
  ];
  const all: Sample[] = [MISSING, ...nums, ...strs, ...others];
  // `args.a in []` names no type: then every present value counts.
  return { all, typed: typed.length > 0 ? typed : all.slice(1) };
}

function typeWords(v: Variable): string {
  if (v.isCount) return `${v.key} exists`;
  const kinds = new Set(
    v.literals.map((l) => (l === null ? 'null' : typeof l === 'boolean' ? 'a boolean' : `a ${typeof l}`)),
  );
  return `${v.key} is ${[...kinds].join(' or ')}`;
}

/** Whether every combination of samples satisfies `test`; undefined when there are too many. */
function forAll(
  node: Node,
  samples: readonly (readonly Sample[])[],
  opaqueCount: number,
  test: (r: Tri) => boolean,
): boolean | undefined {
  let total = 3 ** opaqueCount;
  for (const s of samples) total *= s.length;
  if (total > MAX_COMBINATIONS) return undefined;
  const values: Sample[] = samples.map((s) => s[0]);
  const opaque: Tri[] = Array.from({ length: opaqueCount }, () => true as Tri);
  const tris: Tri[] = [true, false, undefined];
  const recurse = (i: number): boolean => {
    if (i < samples.length) {
      for (const s of samples[i] as readonly Sample[]) {
        values[i] = s;
        if (!recurse(i + 1)) return false;
      }
      return true;
    }
    const j = i - samples.length;
    if (j < opaqueCount) {
      for (const t of tris) {
        opaque[j] = t;
        if (!recurse(i + 1)) return false;
      }
      return true;
    }
    return test(evaluate(node, values, opaque));
  };
  return recurse(0);
}

/** Analyses one constraint (or the `and` of an entry's constraints) with the role's constants inlined. */
export function analyzeConstraint(ast: ConstraintAst, consts: Readonly<Record<string, unknown>> = {}): Analysis {
  const builder = new Builder(consts);
  const node = builder.build(ast);
  const vars = builder.variables;
  const samples = vars.map(samplesFor);
  const never = forAll(
    node,
    samples.map((s) => s.all),
    builder.opaque.length,
    (r) => r !== true,
  );
  if (never === true) return { kind: 'never' };
  const always = forAll(
    node,
    samples.map((s) => s.typed),
    builder.opaque.length,
    (r) => r === true,
  );
  if (always === true) return { kind: 'always', when: vars.map(typeWords) };
  return { kind: 'unknown' };
}

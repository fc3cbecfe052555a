import { createEnforcer, describePolicy, type Policy } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { describe, expect, it } from 'vitest';
import { analyzeConstraint } from './constraint-analysis.ts';

/** The AST and consts of one constraint, parsed by core itself. */
function parsed(constraint: string, consts: Record<string, unknown> = {}) {
  const policy = testPolicy(
    `tools:\n  t:\n    mode: allow\n    constraints:\n      - ${JSON.stringify(constraint)}\nconsts: ${JSON.stringify(consts)}\n`,
  );
  const role = describePolicy(policy).roles[0];
  const c = role?.tools.t?.constraints[0];
  if (!role || !c) throw new Error('no constraint');
  return { policy, ast: c.ast, consts: role.consts };
}

function analyze(constraint: string, consts: Record<string, unknown> = {}) {
  const p = parsed(constraint, consts);
  return analyzeConstraint(p.ast, p.consts).kind;
}

describe('analyzeConstraint', () => {
  it.each([
    'args.a < 1 and args.a > 2',
    'args.a == 1 and args.a == 2',
    'args.a == "x" and args.a != "x"',
    'args.a > 5 and not (args.a > 3)',
    'args.a in [1, 2] and args.a in [3, 4]',
    'args.a in []',
    'count(args.items) < 0',
    'args.a < consts.lo and args.a > consts.hi',
    '(args.a < 1 or args.a > 9) and args.a == 5',
    'startswith(args.p, "/tmp") and args.n < 0 and args.n > 0',
    '1 > 2',
    'args.s < "" ',
  ])('finds that %s can never hold', (c) => {
    expect(analyze(c, { lo: 1, hi: 5 })).toBe('never');
  });

  it.each([
    'args.a >= 0 or args.a < 0',
    'args.a == 1 or args.a != 1',
    'not (args.a < 10 and args.a > 20)',
    'args.s >= ""',
    'count(args.list) >= 0',
    'args.flag == true or args.flag == false',
    '2 > 1',
  ])('finds that %s always holds (for values of its type)', (c) => {
    expect(analyze(c)).toBe('always');
  });

  it.each([
    'args.a < 1',
    'args.a > 0 and args.a <= 500',
    'args.currency in ["USD", "EUR"]',
    'args.a < 1 or startswith(args.p, "/")',
    'startswith(args.p, "/") or not startswith(args.p, "/")', // undefined when p is missing
    'args.a < args.b and args.b < args.a', // path against path: not analysed
    'args.a > 1 and args.a < 2', // 1.5
    'args.s > "a" and args.s < "b"', // "a\\u0000"
    'count(args.l) > 0 and count(args.l) < 2',
    'every(args.items, .qty > 0)',
  ])('draws no conclusion about %s', (c) => {
    expect(analyze(c)).toBe('unknown');
  });

  it('says which types the "always" holds for', () => {
    const p = parsed('args.a >= 0 or args.a < 0 or args.s == "x" or args.s != "x"');
    expect(analyzeConstraint(p.ast, p.consts)).toEqual({
      kind: 'always',
      when: ['args.a is a number', 'args.s is a string'],
    });
  });
});

/**
 * Soundness against core's real evaluator: for random constraints, a
 * `never` verdict means no call is allowed, and an `always` verdict means
 * every call whose paths have the literals' types is allowed.
 */
describe('analyzeConstraint is sound against the engine', () => {
  function rng(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const NUMS = [-1, 0, 1, 1.5, 2, 10];
  const STRS = ['', 'a', 'b', 'ab'];
  const OPS = ['==', '!=', '<', '<=', '>', '>='];
  const VALUES: unknown[] = [
    ...NUMS,
    -100,
    0.5,
    1.25,
    3,
    1000,
    ...STRS,
    'a\u0000',
    'aa',
    'z',
    true,
    false,
    null,
    [],
    [1],
    {},
  ];

  function randomConstraint(r: () => number, depth: number): string {
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
    const roll = r();
    if (depth > 0 && roll < 0.3) {
      const op = r() < 0.5 ? 'and' : 'or';
      return `(${randomConstraint(r, depth - 1)} ${op} ${randomConstraint(r, depth - 1)})`;
    }
    if (depth > 0 && roll < 0.4) return `not (${randomConstraint(r, depth - 1)})`;
    const path = pick(['args.a', 'args.b']);
    if (roll < 0.5) {
      const items = [pick(NUMS), pick(STRS), pick(NUMS)].slice(0, 1 + Math.floor(r() * 3));
      return `${path} ${r() < 0.5 ? 'in' : 'not in'} ${JSON.stringify(items)}`;
    }
    const literal = r() < 0.6 ? pick(NUMS) : pick(STRS);
    return r() < 0.8
      ? `${path} ${pick(OPS)} ${JSON.stringify(literal)}`
      : `${JSON.stringify(literal)} ${pick(OPS)} ${path}`;
  }

  function allowed(policy: Policy, args: Record<string, unknown>): boolean {
    return createEnforcer({ policy }).decide({ tool: 't', args }).decision.outcome === 'allow';
  }

  it('never claims never or always wrongly (400 random constraints)', () => {
    const r = rng(20_240_611);
    let never = 0;
    let always = 0;
    for (let i = 0; i < 400; i++) {
      const c = randomConstraint(r, 3);
      const { policy, ast, consts } = parsed(c);
      const verdict = analyzeConstraint(ast, consts);
      if (verdict.kind === 'unknown') continue;
      const typesOf = (path: string) =>
        verdict.kind === 'always'
          ? new Set(
              verdict.when
                .filter((w) => w.startsWith(`${path} is`))
                .flatMap((w) =>
                  (w.includes('number') ? ['number'] : []).concat(w.includes('string') ? ['string'] : []),
                ),
            )
          : new Set<string>();
      const pool = [undefined, ...VALUES];
      for (const a of pool) {
        for (const b of pool) {
          const args: Record<string, unknown> = {};
          if (a !== undefined) args.a = a;
          if (b !== undefined) args.b = b;
          const ok = allowed(policy, args);
          if (verdict.kind === 'never') expect(ok, `${c} with ${JSON.stringify(args)}`).toBe(false);
          else {
            const fits = (path: 'a' | 'b', v: unknown) => {
              const types = typesOf(`args.${path}`);
              const mentioned = verdict.when.some((w) => w.startsWith(`args.${path} is`));
              return !mentioned || (v !== undefined && types.has(typeof v));
            };
            if (fits('a', a) && fits('b', b)) expect(ok, `${c} with ${JSON.stringify(args)}`).toBe(true);
          }
        }
      }
      if (verdict.kind === 'never') never++;
      else always++;
    }
    // The generator must exercise both verdicts, or this test proves nothing.
    expect(never).toBeGreaterThan(10);
    expect(always).toBeGreaterThan(5);
  });
});

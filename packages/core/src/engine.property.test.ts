/**
 * Property-based tests: the real engine (parser + compiled closures +
 * enforcer) must agree with the naive reference evaluator on generated
 * constraints and hostile inputs, and must deny every non-JSON argument.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refEval } from './__fixtures__/reference-evaluator.ts';
import { parseConstraint } from './constraints/parser.ts';
import { createEnforcer, parsePolicy, type User } from './index.ts';

// `words` is strings only: `in` against it takes the engine's set-lookup path.
const CONSTS = { limit: 5, names: ['a', 'USD', 0], words: ['a', 'USD', ''], empty: [] };

const hostileScalars: unknown[] = [
  0,
  1,
  5,
  2 ** 53 + 1,
  -1.5,
  1e308,
  500,
  '',
  '\u0000',
  'a\u200bb',
  'ab',
  '\u0430',
  'a',
  'A',
  'USD',
  '500',
  '5',
  '__proto__',
  true,
  false,
  null,
];

const scalar = fc.constantFrom(...hostileScalars);
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([], {}, [1, 2], [[1]], { b: 1 }, { b: 'a' }, { b: null }) },
);

const literal = fc.oneof(
  scalar.map((v) => JSON.stringify(v)),
  fc.constantFrom('-0', '5.0', '[]', '[1]', '[5, "a"]', '["a", "USD"]', '[[1]]'),
);
const stringLiteral = fc.constantFrom('""', '"a"', '"ab"', '"\\u0000"', '"U"', '"_"');
const path = fc.constantFrom(
  'args.a',
  'args.b',
  'args.a.b',
  'args.list',
  'args.list[0]',
  'args.list[1]',
  'args.__proto__',
  'args.constructor',
  'args["x y"]',
  'args',
  'ctx.region',
  'ctx',
  'user.id',
  'role',
  'tool',
  'consts.limit',
  'consts.names',
  'count(args.list)',
  'count(args.a)',
  'count(args)',
);
const listPath = fc.constantFrom('args.list', 'args.a', 'consts.names', 'consts.empty');
const cmpOp = fc.constantFrom('==', '!=', '<', '<=', '>', '>=');

const atom: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(path, cmpOp, literal).map(([p, o, l]) => `${p} ${o} ${l}`),
  fc.tuple(literal, cmpOp, path).map(([l, o, p]) => `${l} ${o} ${p}`),
  fc.tuple(path, cmpOp, path).map(([a, o, b]) => `${a} ${o} ${b}`),
  fc
    .tuple(
      path,
      fc.constantFrom('in', 'not in'),
      fc.constantFrom(
        '[]',
        '["a", 1]',
        '[5, "USD", null]',
        '[[1], ["a"]]',
        '["a", "USD", "\\u0000"]',
        'consts.names',
        'consts.words',
      ),
    )
    .map(([p, o, l]) => `${p} ${o} ${l}`),
  fc
    .tuple(fc.constantFrom('startswith', 'endswith', 'contains'), path, stringLiteral)
    .map(([f, p, s]) => `${f}(${p}, ${s})`),
  fc.tuple(path, literal).map(([p, l]) => `contains(${p}, ${l})`),
  fc.tuple(path, fc.constantFrom('"a"', '"^a"', '"b$"', '""', '"USD"')).map(([p, r]) => `matches(${p}, ${r})`),
  fc.tuple(fc.constantFrom('every', 'any'), listPath, cmpOp, literal).map(([q, p, o, l]) => `${q}(${p}, . ${o} ${l})`),
  fc
    .tuple(fc.constantFrom('every', 'any'), listPath, stringLiteral)
    .map(([q, p, s]) => `${q}(${p}, .b == ${s} or . == ${s})`),
);

const constraint: fc.Arbitrary<string> = fc.letrec<{ c: string }>((tie) => ({
  c: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    fc.tuple(tie('c'), tie('c')).map(([a, b]) => `(${a}) and (${b})`),
    fc.tuple(tie('c'), tie('c')).map(([a, b]) => `(${a}) or (${b})`),
    tie('c').map((a) => `not (${a})`),
  ),
})).c;

const argsText = fc
  .uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'list', '__proto__', 'constructor', 'x y'), jsonish), {
    selector: ([k]) => k,
    maxLength: 5,
  })
  .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);

const userArb: fc.Arbitrary<User | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ id: fc.constantFrom('alice', 'a', ' '), roles: fc.constant([]) }),
  fc.record({ id: fc.constantFrom('alice', 'USD'), attributes: fc.record({ region: scalar }) }),
);

function policyWith(c: string | readonly string[], mode = 'allow') {
  const list = (typeof c === 'string' ? [c] : c).map((x) => JSON.stringify(x)).join(', ');
  const yaml = `roles:\n  default:\n    consts: ${JSON.stringify(CONSTS)}\n    tools:\n      t:\n        mode: ${mode}\n        constraints: [${list}]\n`;
  return parsePolicy(yaml);
}

/** The reference evaluator's verdict on constraint `c` for tool 't' of the `default` role. */
function reference(c: string, argsText: string, user: User | undefined) {
  return refEval(parseConstraint(c), {
    args: JSON.parse(argsText),
    ctx: user?.attributes,
    userId: user?.id,
    role: 'default',
    tool: 't',
    consts: CONSTS,
  });
}

describe('engine agrees with the reference evaluator', () => {
  it('on generated constraints, arguments and users', () => {
    fc.assert(
      fc.property(constraint, argsText, userArb, (c, text, user) => {
        const enforcer = createEnforcer({ policy: policyWith(c) });
        const { decision } = enforcer.decide({ tool: 't', args: text, ...(user ? { user } : {}) });
        const expected = reference(c, text, user);
        expect(decision.outcome).toBe(expected === 'T' ? 'allow' : 'deny');
        if (expected !== 'T') expect(decision.violations).toEqual([c]);
      }),
      { numRuns: 1500 },
    );
  });

  it('at the boundary of a comparison against a constant', () => {
    // A small value domain so both sides are often equal, or differ only in
    // type: the specialized `args.x <op> <constant>` closures must still agree.
    const near = ['0', '-0', '5', '5.0', '4.999', '"5"', '"a"', '"b"', '""', 'true', 'null', '[5]'];
    const compare = fc.tuple(
      fc.constantFrom('==', '!=', '<', '<=', '>', '>='),
      fc.constantFrom(...near, 'consts.limit'),
    );
    const member = fc.tuple(
      fc.constantFrom('in', 'not in'),
      fc.constantFrom('["a", "USD", ""]', 'consts.words', '[5]'),
    );
    fc.assert(
      fc.property(fc.constantFrom(...near), fc.oneof(compare, member), (value, [op, k]) => {
        const c = `args.a ${op} ${k}`;
        const text = `{"a": ${value}}`;
        const { decision } = createEnforcer({ policy: policyWith(c) }).decide({ tool: 't', args: text });
        const expected = reference(c, text, undefined);
        expect(decision.outcome, c).toBe(expected === 'T' ? 'allow' : 'deny');
      }),
      { numRuns: 1500 },
    );
  });

  it('on entries with several constraints: every failing one is reported, in order', () => {
    fc.assert(
      fc.property(
        fc.array(atom, { maxLength: 6 }),
        fc.constantFrom('allow', 'approval_required'),
        argsText,
        userArb,
        (cs, mode, text, user) => {
          const { decision } = createEnforcer({ policy: policyWith(cs, mode) }).decide({
            tool: 't',
            args: text,
            ...(user ? { user } : {}),
          });
          const failing = cs.filter((c) => reference(c, text, user) !== 'T');
          expect(decision.outcome).toBe(failing.length === 0 ? mode : 'deny');
          expect(decision.violations).toEqual(failing);
        },
      ),
      { numRuns: 800 },
    );
  });

  it('treats object and JSON-string arguments alike', () => {
    fc.assert(
      fc.property(constraint, argsText, (c, text) => {
        const enforcer = createEnforcer({ policy: policyWith(c) });
        const fromText = enforcer.decide({ tool: 't', args: text }).decision.outcome;
        const fromObject = enforcer.decide({ tool: 't', args: JSON.parse(text) }).decision.outcome;
        expect(fromObject).toBe(fromText);
      }),
      { numRuns: 300 },
    );
  });
});

describe('arguments that are not plain JSON data are denied', () => {
  const enforcer = createEnforcer({ policy: policyWith('count(args) >= 0') });
  const poison = fc.constantFrom<unknown>(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    10n,
    () => 1,
    Symbol('s'),
    undefined,
    new Date(0),
    new Map(),
    new (class Money {
      amount = 5;
    })(),
    Object.create({ inherited: 1 }),
  );
  it('anywhere in the structure', () => {
    fc.assert(
      fc.property(poison, fc.constantFrom('top', 'nested', 'list'), (bad, where) => {
        const args = where === 'top' ? { x: bad } : where === 'nested' ? { x: { y: bad } } : { x: [1, bad] };
        const { decision, args: snapshot } = enforcer.decide({ tool: 't', args });
        expect(decision.outcome).toBe('deny');
        expect(decision.reason).toMatch(/^invalid arguments/);
        expect(snapshot).toBeUndefined();
      }),
    );
  });

  it('including getters, cycles, symbol keys, sparse lists and too-deep nesting', () => {
    const sparse = [1, 2, 3];
    delete sparse[1];
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const cases: unknown[] = [
      Object.defineProperty({}, 'x', { get: () => 1, enumerable: true }),
      cyclic,
      { [Symbol('k')]: 1 },
      { list: sparse },
      deep,
      JSON.stringify(deep),
      '{"a": 1e400}',
      '{"a": 1, "a": 2}',
      '{"a": {"b": 1, "b": 1}}',
      '[1]',
      '"text"',
      'not json',
      null,
      42,
    ];
    for (const args of cases) {
      expect(enforcer.decide({ tool: 't', args }).decision.outcome, JSON.stringify(String(args))).toBe('deny');
    }
  });

  it('duplicate-key detection is not fooled by colons and escapes inside strings', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), (obj) => {
        const { decision, args } = enforcer.decide({ tool: 't', args: JSON.stringify(obj) });
        expect(decision.outcome).toBe('allow');
        expect(args).toEqual(obj);
      }),
    );
  });
});

describe('snapshots', () => {
  it('are deep-frozen copies equal to the input, and __proto__ stays data', () => {
    const enforcer = createEnforcer({ policy: policyWith('count(args) >= 0') });
    fc.assert(
      fc.property(argsText, (text) => {
        const { args } = enforcer.decide({ tool: 't', args: text });
        expect(args).toBeDefined();
        expect(JSON.stringify(args)).toBe(JSON.stringify(JSON.parse(text)));
        const frozen = (v: unknown): boolean =>
          typeof v !== 'object' || v === null || (Object.isFrozen(v) && Object.values(v).every(frozen));
        expect(frozen(args)).toBe(true);
      }),
    );
    const { args } = enforcer.decide({ tool: 't', args: '{"__proto__": {"polluted": true}}' });
    expect(Object.hasOwn(args as object, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(args)).toBe(Object.prototype);
    const fromObject = enforcer.decide({ tool: 't', args: JSON.parse('{"__proto__": {"polluted": true}}') }).args;
    expect(Object.hasOwn(fromObject as object, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(fromObject)).toBe(Object.prototype);
  });
});

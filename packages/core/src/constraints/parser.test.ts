/**
 * The constraint grammar as a policy author meets it: through parsePolicy
 * (load errors with positions) and createEnforcer (what a constraint means).
 */
import { describe, expect, it } from 'vitest';
import { createEnforcer, type PolicyIssue, PolicyLoadError, parsePolicy } from '../index.ts';

/** A flat policy whose tool `t` is allowed under `constraint`, with `consts`. */
function policyWith(constraint: string, consts: Record<string, unknown> = {}) {
  return parsePolicy(
    `consts: ${JSON.stringify(consts)}\ntools:\n  t: {mode: allow, constraints: [${JSON.stringify(constraint)}]}\n`,
  );
}

function outcome(constraint: string, args: unknown, consts: Record<string, unknown> = {}) {
  return createEnforcer({ policy: policyWith(constraint, consts) }).decide({ tool: 't', args }).decision.outcome;
}

function loadIssues(constraint: string): PolicyIssue[] {
  try {
    policyWith(constraint);
  } catch (e) {
    expect(PolicyLoadError.isInstance(e)).toBe(true);
    return [...(e as PolicyLoadError).issues];
  }
  throw new Error(`expected ${JSON.stringify(constraint)} to be a load error`);
}

/** Column (1-based) of character `offset` of the constraint in the line `policyWith` writes it on. */
function columnOf(constraint: string, offset: number): number {
  const line = `  t: {mode: allow, constraints: [${JSON.stringify(constraint)}]}`;
  return line.indexOf('"') + 2 + offset;
}

describe('the current item `.` inside every() / any()', () => {
  const blocked = { blocked: ['ceo@corp.example'] };

  it('`. not in LIST` means "the item is not in the list", not "(.not) in LIST"', () => {
    const c = 'every(args.to, . not in consts.blocked)';
    expect(outcome(c, { to: ['bob@corp.example'] }, blocked)).toBe('allow');
    expect(outcome(c, { to: ['bob@corp.example', 'ceo@corp.example'] }, blocked)).toBe('deny');
    // Under the old reading `{not: <blocked address>}` was the item that matched the list.
    expect(outcome('any(args.to, . not in consts.blocked)', { to: ['ceo@corp.example'] }, blocked)).toBe('deny');
  });

  it('`. in LIST` and `. in consts.x` are membership tests of the item', () => {
    expect(outcome('every(args.c, . in ["USD", "EUR"])', { c: ['USD', 'EUR'] })).toBe('allow');
    expect(outcome('every(args.c, . in ["USD", "EUR"])', { c: ['USD', 'GBP'] })).toBe('deny');
    expect(outcome('any(args.to, . in consts.blocked)', { to: ['a', 'ceo@corp.example'] }, blocked)).toBe('allow');
    expect(outcome('any(args.to, . in consts.blocked)', { to: ['a'] }, blocked)).toBe('deny');
    expect(outcome('every(args.n, not (. in [1, 2]) and . > 0)', { n: [3, 4] })).toBe('allow');
    expect(outcome('every(args.n, not (. in [1, 2]) and . > 0)', { n: [3, 2] })).toBe('deny');
  });

  it('a field name touches its dot: `.qty` is a field, `. qty` is a load error with a hint', () => {
    expect(outcome('every(args.items, .qty > 0)', { items: [{ qty: 1 }] })).toBe('allow');
    expect(outcome('every(args.items, .qty > 0)', { items: [{ qty: 0 }] })).toBe('deny');
    const [issue] = loadIssues('every(args.items, . qty > 0)');
    expect(issue).toMatchObject({ line: 3, column: columnOf('every(args.items, . qty > 0)', 20) });
    expect(issue?.message).toMatch(/'\. qty'|directly after/);
    expect(issue?.hint).toContain('.qty');
    expect(loadIssues('args. amount <= 5')[0]?.hint).toContain('args.amount');
    expect(loadIssues('consts. max == 1')[0]?.message).toMatch(/directly after/);
    expect(loadIssues('user. id == "a"')[0]?.message).toMatch(/directly after/);
    expect(loadIssues('every(args.items, . .qty > 0)')[0]?.message).toMatch(/expected a name after '\.'/);
  });

  it('a keyword right after the item dot (`.not`, `.in`, `.and`, `.or`) is a load error that shows both readings', () => {
    for (const kw of ['not', 'in', 'and', 'or']) {
      const c = `every(args.to, .${kw} in ["x"])`;
      const [issue] = loadIssues(c);
      expect(issue, c).toMatchObject({ line: 3, column: columnOf(c, 15) });
      expect(issue?.hint, c).toContain(`. ${kw}`);
      expect(issue?.hint, c).toContain(`.["${kw}"]`);
    }
  });

  it('`.["name"]` and `.[0]` reach into the item, so a field named like a keyword stays reachable', () => {
    expect(outcome('every(args.to, .["not"] == 1)', { to: [{ not: 1 }] })).toBe('allow');
    expect(outcome('every(args.to, .["not"] == 1)', { to: [{ not: 2 }] })).toBe('deny');
    expect(outcome('every(args.m, .[1] == "b")', { m: [['a', 'b']] })).toBe('allow');
    expect(outcome('every(args.m, .[1].x == "b")', { m: [['a', { x: 'b' }]] })).toBe('allow');
  });

  it('outside a quantifier a keyword after `args.` is still a field (there is no lone value to confuse it with)', () => {
    expect(outcome('args.not == 1 and args.in == 2', { not: 1, in: 2 })).toBe('allow');
    expect(outcome('args.not == 1 and args.in == 2', { not: 1, in: 3 })).toBe('deny');
  });

  it('nested quantifiers still work, with `.` bound to the innermost item', () => {
    const c = 'every(args.rows, any(.tags, . == "ok") and .n >= 1)';
    expect(outcome(c, { rows: [{ tags: ['x', 'ok'], n: 1 }] })).toBe('allow');
    expect(outcome(c, { rows: [{ tags: ['x'], n: 1 }] })).toBe('deny');
  });
});

describe('nesting depth is capped (a deep constraint is a load error, never a stack overflow)', () => {
  const MAX = 64;
  const shapes: [string, (n: number) => string, number][] = [
    // name, constraint with n nested levels, offset of the level that goes one too deep
    ['parentheses', (n) => `${'('.repeat(n)}args.a == 1${')'.repeat(n)}`, MAX],
    ['not', (n) => `${'not '.repeat(n)}args.a == 1`, MAX * 4],
    ['count()', (n) => `${'count('.repeat(n)}args.a${')'.repeat(n)} == 1`, MAX * 6],
    ['list literals', (n) => `args.a in [${'['.repeat(n - 1)}${']'.repeat(n - 1)}]`, 10 + MAX],
    ['every()', (n) => `${'every(args.a, '.repeat(n)}. == 1${')'.repeat(n)}`, MAX * 14],
  ];

  for (const [name, nested, offset] of shapes) {
    it(`${name}: ${MAX} levels load, ${MAX + 1} is a positioned load error, 20,000 too`, () => {
      expect(() => policyWith(nested(MAX))).not.toThrow();
      const c = nested(MAX + 1);
      const [issue] = loadIssues(c);
      expect(issue).toMatchObject({ line: 3, column: columnOf(c, offset) });
      expect(issue?.message).toContain(`nested more than ${MAX} levels deep`);
      expect(issue?.hint).toBeTruthy();
      expect(loadIssues(nested(20_000))[0]?.message).toContain(`nested more than ${MAX} levels deep`);
    });
  }
});

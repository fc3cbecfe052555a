import { describe, expect, it } from 'vitest';
import { regexCost, regexProblems } from './regex-cost.ts';

describe('regexCost', () => {
  it('sizes counted repetitions by their count, nested ones multiplied', () => {
    expect(regexCost('a{10}').size).toBe(10);
    expect(regexCost('(a{10}){10}').size).toBeGreaterThanOrEqual(100);
    expect(regexCost('(?:ab){2,50}').maxRepeat).toBe(50);
    expect(regexCost('x{3,}').maxRepeat).toBe(3);
  });

  it('finds nested quantifiers, including through groups and alternation', () => {
    expect(regexCost('(a+)+').nestedQuantifier).toBe('(a+)+');
    expect(regexCost('^(\\w+\\s?)*$').nestedQuantifier).toBe('(\\w+\\s?)*');
    expect(regexCost('(a|b*){2}').nestedQuantifier).toBe('(a|b*){2}');
    expect(regexCost('(?:x(y+))*').nestedQuantifier).toBe('(?:x(y+))*');
  });

  it('does not call fixed counts or an optional group nested quantifiers', () => {
    expect(regexCost('(a{3}){3}').nestedQuantifier).toBeUndefined();
    expect(regexCost('(a+)?').nestedQuantifier).toBeUndefined();
    expect(regexCost('(a{2,3}){1}').nestedQuantifier).toBeUndefined();
    expect(regexCost('(a{2,3}){2}').nestedQuantifier).toBe('(a{2,3}){2}');
  });

  it('does not mistake escaped or class characters for quantifiers or groups', () => {
    expect(regexCost('\\(a+\\)+').nestedQuantifier).toBeUndefined();
    expect(regexCost('[(+*)]+').nestedQuantifier).toBeUndefined();
    expect(regexCost('\\p{Greek}+').nestedQuantifier).toBeUndefined();
    expect(regexCost('a\\{1000\\}').maxRepeat).toBe(0);
    expect(regexCost('[]a{]').maxRepeat).toBe(0);
  });
});

describe('regexProblems', () => {
  it('accepts ordinary patterns', () => {
    for (const p of ['^(KP|IR)', '^[a-z ]{0,80}$', '^/tmp/[^/]+$', '^\\d{4}-\\d{2}-\\d{2}$', '(ab)+c'])
      expect(regexProblems(p), p).toEqual([]);
  });

  it('flags length, large repetitions, program size and nesting', () => {
    expect(regexProblems('a'.repeat(257))).toEqual(['the pattern is 257 characters long (over 256)']);
    expect(regexProblems('^a{101}$')).toEqual(['it repeats a piece 101 times (over 100)']);
    expect(regexProblems('(?:[a-z]{50}){50}')).toEqual(['it expands to about 2550 instructions (over 1000)']);
    expect(regexProblems('(a*)*')).toEqual([
      "it nests quantifiers in '(a*)*' (catastrophic under a backtracking engine)",
    ]);
  });
});

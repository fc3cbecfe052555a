import { describe, expect, it } from 'vitest';
import { canonicalJson, hashArgs } from './index.ts';

describe('canonicalJson / hashArgs', () => {
  it('sorts keys, so the same data hashes the same whatever order it was built in', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[1,{"c":null,"d":1}]}');
    expect(hashArgs({ a: 1, b: 2 })).toBe(hashArgs({ b: 2, a: 1 }));
    expect(canonicalJson(JSON.parse('{"__proto__":1}'))).toBe('{"__proto__":1}');
  });

  it('refuses what is not JSON data instead of coercing it (different values would hash the same)', () => {
    const notJson: unknown[] = [
      { x: Number.NaN },
      { x: Number.POSITIVE_INFINITY },
      { when: new Date(0) },
      new Map([['a', 1]]),
      { x: undefined },
      [() => 1],
      { n: 1n },
      Symbol('s'),
    ];
    for (const value of notJson) expect(() => hashArgs(value), String(typeof value)).toThrow(TypeError);
  });
});

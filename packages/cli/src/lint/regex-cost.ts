/**
 * Estimates how expensive a `matches()` pattern is. RE2 (re2js) matches in
 * time linear in the input, but the constant is the size of the compiled
 * program, and counted repetitions multiply it: `(a{100}){100}` is 10,000
 * instructions. Nested quantifiers such as `(a+)+` are harmless for RE2 but
 * catastrophic under any backtracking engine the pattern may be copied into,
 * and always a sign of a pattern that can be simpler.
 *
 * This is a small scanner over RE2 syntax, not a full parser: escapes,
 * classes and groups are recognised well enough to size each piece.
 */

export interface RegexCost {
  /** Rough number of compiled instructions (counted repetitions expanded). */
  readonly size: number;
  /** A repeated group that contains a variable-length quantifier, e.g. `(a+)+` (not `(a{3}){3}` or `(a+)?`). */
  readonly nestedQuantifier: string | undefined;
  /** The largest repetition count written, e.g. 1000 for `{1000}`. */
  readonly maxRepeat: number;
}

export const REGEX_LIMITS = {
  /** Pattern length (characters) above which the pattern is flagged. */
  length: 256,
  /** A counted repetition above this is flagged. */
  repeat: 100,
  /** An estimated program size above this is flagged. */
  size: 1000,
} as const;

interface Piece {
  size: number;
  /** Contains a quantifier whose repeat count varies (`*`, `+`, `?`, `{n,m}`, `{n,}`). */
  hasQuantifier: boolean;
}

export function regexCost(pattern: string): RegexCost {
  let i = 0;
  let nested: string | undefined;
  let maxRepeat = 0;

  // Reads one quantifier at `i`, if any: its multiplier on the program size.
  const quantifier = (): { factor: number; variable: boolean; repeats: boolean } | undefined => {
    const c = pattern[i];
    if (c === '*' || c === '+' || c === '?') {
      i++;
      if (pattern[i] === '?') i++; // lazy form
      return { factor: 1, variable: true, repeats: c !== '?' };
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      if (pattern[i] === '?') i++;
      const min = Number(m[1]);
      const max = m[3] !== undefined && m[3] !== '' ? Number(m[3]) : min;
      const unbounded = m[2] !== undefined && m[3] === '';
      const n = Math.max(min, max, 1);
      maxRepeat = Math.max(maxRepeat, n);
      return { factor: n, variable: unbounded || max !== min, repeats: unbounded || n > 1 };
    }
    return undefined;
  };

  const atom = (): Piece | undefined => {
    const c = pattern[i];
    if (c === undefined || c === '|' || c === ')') return undefined;
    if (c === '\\') {
      const close = pattern[i + 2] === '{' ? pattern.indexOf('}', i) : -1;
      i = close > 0 && (pattern[i + 1] === 'p' || pattern[i + 1] === 'P') ? close + 1 : i + 2;
      return { size: 1, hasQuantifier: false };
    }
    if (c === '[') {
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      i++;
      return { size: 1, hasQuantifier: false };
    }
    if (c === '(') {
      i++;
      if (pattern[i] === '?') {
        // (?:...), (?i), (?P<name>...)
        const m = /^\?(P?<[^>]*>|[a-zA-Z-]*:?)/.exec(pattern.slice(i));
        i += m ? m[0].length : 1;
      }
      const inner = alternation();
      if (pattern[i] === ')') i++;
      return { size: inner.size + 1, hasQuantifier: inner.hasQuantifier };
    }
    i++;
    return { size: 1, hasQuantifier: false };
  };

  const sequence = (): Piece => {
    let size = 0;
    let hasQuantifier = false;
    for (;;) {
      const start = i;
      const a = atom();
      if (!a) break;
      const q = quantifier();
      if (q) {
        if (a.hasQuantifier && q.repeats && nested === undefined) nested = pattern.slice(start, i);
        size += a.size * q.factor;
        hasQuantifier ||= q.variable || a.hasQuantifier;
      } else {
        size += a.size;
        hasQuantifier ||= a.hasQuantifier;
      }
    }
    return { size, hasQuantifier };
  };

  function alternation(): Piece {
    const first = sequence();
    let size = first.size;
    let hasQuantifier = first.hasQuantifier;
    while (pattern[i] === '|') {
      i++;
      const next = sequence();
      size += next.size + 1;
      hasQuantifier ||= next.hasQuantifier;
    }
    return { size, hasQuantifier };
  }

  let size = 0;
  while (i < pattern.length) {
    size += alternation().size;
    if (pattern[i] === ')') i++; // unbalanced: core would have rejected it; keep scanning
  }
  return { size, nestedQuantifier: nested, maxRepeat };
}

/** Human reasons a pattern is expensive; empty when it is fine. */
export function regexProblems(pattern: string): string[] {
  const cost = regexCost(pattern);
  const problems: string[] = [];
  if (pattern.length > REGEX_LIMITS.length)
    problems.push(`the pattern is ${pattern.length} characters long (over ${REGEX_LIMITS.length})`);
  if (cost.maxRepeat > REGEX_LIMITS.repeat)
    problems.push(`it repeats a piece ${cost.maxRepeat} times (over ${REGEX_LIMITS.repeat})`);
  if (cost.size > REGEX_LIMITS.size)
    problems.push(`it expands to about ${cost.size} instructions (over ${REGEX_LIMITS.size})`);
  if (cost.nestedQuantifier !== undefined)
    problems.push(`it nests quantifiers in '${cost.nestedQuantifier}' (catastrophic under a backtracking engine)`);
  return problems;
}

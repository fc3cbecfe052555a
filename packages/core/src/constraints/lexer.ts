/** Tokenizer for constraint expressions. Offsets are UTF-16 indexes into the source. */
import { ConstraintSyntaxError } from './syntax-error.ts';

export type Token =
  | { readonly type: 'word'; readonly text: string; readonly offset: number }
  | { readonly type: 'string'; readonly value: string; readonly offset: number }
  | { readonly type: 'number'; readonly value: number; readonly text: string; readonly offset: number }
  | { readonly type: 'punct'; readonly text: string; readonly offset: number }
  | { readonly type: 'end'; readonly offset: number };

const PUNCT = ['==', '!=', '<=', '>=', '<', '>', '(', ')', '[', ']', ',', '.'];
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
// JSON number grammar exactly: no leading zeros, no leading '+', no trailing '.'.
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i] as string;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
      continue;
    }
    if (ch === '"') {
      STRING.lastIndex = i;
      const m = STRING.exec(source);
      if (!m)
        throw new ConstraintSyntaxError('unterminated or invalid string literal (use JSON double-quoted strings)', i);
      tokens.push({ type: 'string', value: JSON.parse(m[0]) as string, offset: i });
      i += m[0].length;
      continue;
    }
    if (ch === "'") {
      throw new ConstraintSyntaxError('strings use double quotes', i, 'write "text", not \'text\'');
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(source);
      if (!m) throw new ConstraintSyntaxError('invalid number', i);
      const value = Number(m[0]);
      if (!Number.isFinite(value)) throw new ConstraintSyntaxError('number out of range', i);
      tokens.push({ type: 'number', value, text: m[0], offset: i });
      i += m[0].length;
      continue;
    }
    WORD.lastIndex = i;
    const w = WORD.exec(source);
    if (w) {
      tokens.push({ type: 'word', text: w[0], offset: i });
      i += w[0].length;
      continue;
    }
    const p = PUNCT.find((op) => source.startsWith(op, i));
    if (p) {
      tokens.push({ type: 'punct', text: p, offset: i });
      i += p.length;
      continue;
    }
    const hint =
      ch === '=' ? 'use == for equality' : ch === '&' || ch === '|' || ch === '!' ? 'use and / or / not' : undefined;
    throw new ConstraintSyntaxError(`unexpected character '${ch}'`, i, hint);
  }
  tokens.push({ type: 'end', offset: source.length });
  return tokens;
}

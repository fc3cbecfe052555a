/**
 * Recursive-descent parser for the constraint language (hexgate's grammar):
 *
 *   expr    := and ('or' and)*
 *   and     := unary ('and' unary)*
 *   unary   := 'not' unary | atom
 *   atom    := '(' expr ')' | predicate | value cmp value
 *   cmp     := '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in'
 *   predicate := startswith|endswith|contains '(' value ',' value ')'
 *              | matches '(' value ',' string ')' | every|any '(' value ',' expr ')'
 *   value   := path | literal | 'consts.' name | 'role' | 'tool' | count '(' value ')'
 *   path    := ('args' | 'ctx' | 'user.id' | '.') ('.' name | '[' int | string ']')*
 *
 * Whitespace is insignificant except after a '.': the name must touch it
 * (`args.a`, not `args. a`). Inside every()/any() a '.' followed by a space
 * or an operator is the item itself (`. in ["a"]`, `. not in consts.x`), and
 * `.not` / `.in` / `.and` / `.or` are errors (write `.["not"]` for such a field).
 *
 * A tiny hand-written parser keeps exact offsets for error messages and has
 * no dependency; the language is small and closed.
 */
import type { CompareOp, Expr, PathNode, PathRoot, StringFn, Value } from './ast.ts';
import { type Token, tokenize } from './lexer.ts';
import { ConstraintSyntaxError } from './syntax-error.ts';

const COMPARE_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);
const STRING_FNS = new Set(['startswith', 'endswith', 'contains']);
const KEYWORDS = new Set(['and', 'or', 'not', 'in']);
const FUNCTIONS = new Set(['count', 'startswith', 'endswith', 'contains', 'matches', 'every', 'any']);

/**
 * How deeply parentheses, `not`, every()/any(), count() and list literals may
 * nest. The parser, the compiler and the evaluators all recurse over the tree,
 * so without a cap a long enough constraint overflows the stack (a RangeError
 * instead of a load error); no real constraint comes close to 64 levels.
 */
export const MAX_CONSTRAINT_DEPTH = 64;

export function parseConstraint(source: string): Expr {
  const parser = new Parser(source, tokenize(source));
  const expr = parser.expr();
  parser.expectEnd();
  return expr;
}

class Parser {
  private pos = 0;
  private quantifierDepth = 0;
  private depth = 0;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== 'end') this.pos++;
    return t;
  }

  private isWord(t: Token, text: string): boolean {
    return t.type === 'word' && t.text === text;
  }

  private isPunct(t: Token, text: string): boolean {
    return t.type === 'punct' && t.text === text;
  }

  private expectPunct(text: string, what: string): Token {
    const t = this.next();
    if (!this.isPunct(t, text)) throw this.error(t, `expected '${text}' ${what}`);
    return t;
  }

  /** Enters one nesting level at token `t`; errors abort the parse, so there is no matching leave on failure. */
  private enter(t: Token): void {
    if (++this.depth > MAX_CONSTRAINT_DEPTH) {
      throw this.error(
        t,
        `the constraint is nested more than ${MAX_CONSTRAINT_DEPTH} levels deep`,
        'split it into several constraints (all of them must hold) or drop redundant parentheses and nots',
      );
    }
  }

  private leave(): void {
    this.depth--;
  }

  private error(t: Token, message: string, hint?: string): ConstraintSyntaxError {
    const found =
      t.type === 'end' ? 'end of constraint' : `'${this.source.slice(t.offset, t.offset + 20).split(/\s/)[0]}'`;
    return new ConstraintSyntaxError(`${message}, found ${found}`, t.offset, hint);
  }

  expectEnd(): void {
    const t = this.peek();
    if (t.type !== 'end')
      throw this.error(t, 'unexpected text after the end of the expression', 'join conditions with and / or');
  }

  expr(): Expr {
    const items = [this.and()];
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      items.push(this.and());
    }
    return items.length === 1 ? (items[0] as Expr) : { kind: 'or', items };
  }

  private and(): Expr {
    const items = [this.unary()];
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      items.push(this.unary());
    }
    return items.length === 1 ? (items[0] as Expr) : { kind: 'and', items };
  }

  private unary(): Expr {
    if (this.isWord(this.peek(), 'not')) {
      this.enter(this.next());
      const item = this.unary();
      this.leave();
      return { kind: 'not', item };
    }
    return this.atom();
  }

  private atom(): Expr {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      this.enter(this.next());
      const inner = this.expr();
      this.expectPunct(')', 'to close the parenthesis');
      this.leave();
      return inner;
    }
    if (t.type === 'word' && this.isPunct(this.peek(1), '(')) {
      if (STRING_FNS.has(t.text)) return this.stringCall(t.text as StringFn);
      if (t.text === 'matches') return this.matchesCall();
      if (t.text === 'every' || t.text === 'any') return this.quantifier(t.text);
    }
    const left = this.value();
    const opToken = this.peek();
    let op: CompareOp;
    if (opToken.type === 'punct' && COMPARE_OPS.has(opToken.text)) {
      op = opToken.text as CompareOp;
      this.next();
    } else if (this.isWord(opToken, 'in')) {
      op = 'in';
      this.next();
    } else if (this.isWord(opToken, 'not') && this.isWord(this.peek(1), 'in')) {
      op = 'not in';
      this.next();
      this.next();
    } else {
      throw this.error(opToken, 'expected a comparison operator (== != < <= > >= in, not in)');
    }
    const rightToken = this.peek();
    const right = this.value();
    if (
      (op === 'in' || op === 'not in') &&
      right.kind !== 'const' &&
      !(right.kind === 'literal' && Array.isArray(right.value))
    ) {
      throw this.error(rightToken, `the right side of '${op}' must be a list literal or consts.<name>`);
    }
    return { kind: 'compare', op, left, right };
  }

  private stringCall(fn: StringFn): Expr {
    this.next();
    this.expectPunct('(', `after ${fn}`);
    const subject = this.value();
    this.expectPunct(',', `between the arguments of ${fn}`);
    const arg = this.value();
    this.expectPunct(')', `to close ${fn}(`);
    return { kind: 'call', fn, subject, arg };
  }

  private matchesCall(): Expr {
    this.next();
    this.expectPunct('(', 'after matches');
    const subject = this.value();
    this.expectPunct(',', 'between the arguments of matches');
    const t = this.next();
    if (t.type !== 'string') throw this.error(t, 'the pattern of matches() must be a string literal');
    this.expectPunct(')', 'to close matches(');
    return { kind: 'matches', subject, pattern: t.value };
  }

  private quantifier(fn: 'every' | 'any'): Expr {
    this.enter(this.next());
    this.expectPunct('(', `after ${fn}`);
    const subject = this.value();
    this.expectPunct(',', `between the list and the condition of ${fn}`);
    this.quantifierDepth++;
    const body = this.expr();
    this.quantifierDepth--;
    this.expectPunct(')', `to close ${fn}(`);
    this.leave();
    return { kind: 'quantifier', fn, subject, body };
  }

  private value(): Value {
    const t = this.peek();
    if (t.type === 'string') {
      this.next();
      return { kind: 'literal', value: t.value };
    }
    if (t.type === 'number') {
      this.next();
      return { kind: 'literal', value: t.value };
    }
    if (this.isPunct(t, '[')) return { kind: 'literal', value: this.listLiteral() };
    if (this.isPunct(t, '.')) {
      if (this.quantifierDepth === 0) {
        throw this.error(t, "'.' (the current item) is only valid inside every() or any()");
      }
      return this.path('item', t, true);
    }
    if (t.type !== 'word') throw this.error(t, 'expected a value');
    switch (t.text) {
      case 'true':
      case 'false':
        this.next();
        return { kind: 'literal', value: t.text === 'true' };
      case 'null':
        this.next();
        return { kind: 'literal', value: null };
      case 'args':
      case 'ctx':
        this.next();
        return this.path(t.text, t, false);
      case 'user': {
        this.next();
        const dot = this.next();
        const name = this.next();
        if (!this.isPunct(dot, '.') || !this.isWord(name, 'id')) {
          throw this.error(name, "only 'user.id' is available", 'use ctx.<attribute> for user attributes');
        }
        if (name.offset !== dot.offset + 1)
          throw this.error(name, "expected 'id' directly after 'user.'", 'write user.id');
        return { kind: 'path', root: 'user', segments: ['id'], text: 'user.id' };
      }
      case 'role':
        this.next();
        return { kind: 'role' };
      case 'tool':
        this.next();
        return { kind: 'tool' };
      case 'consts': {
        this.next();
        const dot = this.expectPunct('.', "after 'consts'");
        const name = this.next();
        if (name.type !== 'word') throw this.error(name, 'expected a constant name after consts.');
        if (name.offset !== dot.offset + 1) {
          throw this.error(name, "expected a constant name directly after 'consts.'", `write consts.${name.text}`);
        }
        return { kind: 'const', name: name.text };
      }
      case 'count': {
        this.enter(this.next());
        if (!this.isPunct(this.peek(), '(')) throw this.error(this.peek(), "expected '(' after count");
        this.next();
        const arg = this.value();
        this.expectPunct(')', 'to close count(');
        this.leave();
        return { kind: 'count', arg };
      }
      default:
        break;
    }
    if (FUNCTIONS.has(t.text)) throw this.error(t, `${t.text}(...) is a condition, not a value`);
    if (KEYWORDS.has(t.text)) throw this.error(t, 'expected a value');
    if (this.isPunct(this.peek(1), '(')) throw this.error(t, `unknown function '${t.text}'`);
    throw this.error(
      t,
      `unknown name '${t.text}'`,
      `did you forget quotes? write "${t.text}" for a string, or args.${t.text} for an argument`,
    );
  }

  private listLiteral(): unknown[] {
    this.enter(this.expectPunct('[', 'to open a list'));
    const items: unknown[] = [];
    if (this.isPunct(this.peek(), ']')) {
      this.next();
      this.leave();
      return items;
    }
    for (;;) {
      const t = this.peek();
      const v = this.value();
      if (v.kind !== 'literal')
        throw this.error(t, 'list items must be literals (strings, numbers, true, false, null, lists)');
      items.push(v.value);
      const sep = this.next();
      if (this.isPunct(sep, ']')) {
        this.leave();
        return items;
      }
      if (!this.isPunct(sep, ',')) throw this.error(sep, "expected ',' or ']' in list");
    }
  }

  private path(root: PathRoot, start: Token, leadingDot: boolean): PathNode {
    const segments: (string | number)[] = [];
    // The '.' whose name is expected next. Whitespace matters only here: a
    // name must touch its dot, because inside every()/any() a lone '.' is a
    // value (the item), so `. not in X` and `.not in X` would otherwise read
    // the same and one of them would silently mean the other.
    let dot: Token | undefined = leadingDot ? start : undefined;
    if (leadingDot) this.next();
    for (;;) {
      const t = this.peek();
      if (dot) {
        const lone = root === 'item' && segments.length === 0;
        const touching = t.offset === dot.offset + 1;
        if (t.type === 'word' && touching) {
          if (lone && KEYWORDS.has(t.text)) {
            throw this.error(
              dot,
              `'.${t.text}' is ambiguous`,
              `write ". ${t.text} ..." (with a space) for the item itself, or .["${t.text}"] for a field named ${t.text}`,
            );
          }
          this.next();
          segments.push(t.text);
          dot = undefined;
          continue;
        }
        if (t.type === 'word' && !(lone && KEYWORDS.has(t.text))) {
          const prefix = this.source.slice(start.offset, dot.offset);
          throw this.error(t, "expected a field name directly after '.'", `write ${prefix}.${t.text} (no space)`);
        }
        if (!lone || this.isPunct(t, '.')) throw this.error(t, "expected a name after '.'");
        dot = undefined; // a lone '.' is the item itself; `.[0]` / `.["key"]` index into it
        continue;
      }
      if (this.isPunct(t, '.')) {
        this.next();
        dot = t;
        continue;
      }
      if (this.isPunct(t, '[')) {
        this.next();
        const key = this.next();
        if (key.type === 'number' && Number.isInteger(key.value) && key.value >= 0 && !key.text.includes('.')) {
          segments.push(key.value);
        } else if (key.type === 'string') {
          segments.push(key.value);
        } else {
          throw this.error(key, 'expected a non-negative integer index or a "string" key');
        }
        this.expectPunct(']', 'to close the index');
        continue;
      }
      break;
    }
    const end = this.peek().offset;
    return { kind: 'path', root, segments, text: this.source.slice(start.offset, end).trim() };
  }
}

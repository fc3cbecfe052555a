/**
 * Syntax tree of the constraint language.
 * A constraint is a boolean `Expr`; operands are `Value`s.
 */

export type PathRoot = 'args' | 'ctx' | 'user' | 'item';

/** `args.a.b[0]`, `ctx.region`, `user.id`, or `.x` inside every()/any(). */
export interface PathNode {
  readonly kind: 'path';
  readonly root: PathRoot;
  readonly segments: readonly (string | number)[];
  readonly text: string;
}

export type Value =
  | PathNode
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'const'; readonly name: string }
  | { readonly kind: 'role' }
  | { readonly kind: 'tool' }
  | { readonly kind: 'count'; readonly arg: Value };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

export type StringFn = 'startswith' | 'endswith' | 'contains';

export type Expr =
  | { readonly kind: 'or'; readonly items: readonly Expr[] }
  | { readonly kind: 'and'; readonly items: readonly Expr[] }
  | { readonly kind: 'not'; readonly item: Expr }
  | { readonly kind: 'compare'; readonly op: CompareOp; readonly left: Value; readonly right: Value }
  | { readonly kind: 'call'; readonly fn: StringFn; readonly subject: Value; readonly arg: Value }
  | { readonly kind: 'matches'; readonly subject: Value; readonly pattern: string }
  | { readonly kind: 'quantifier'; readonly fn: 'every' | 'any'; readonly subject: Value; readonly body: Expr };

import { testPolicy } from '@hexgate/core/testing';
import { describe, expect, it } from 'vitest';
import { lintPolicy } from '../index.ts';

const ids = (yaml: string) => lintPolicy(testPolicy(yaml)).map((w) => w.id);

describe('lintPolicy', () => {
  it('returns nothing for a policy without surprises', () => {
    expect(
      ids(`
      roles:
        base:
          is_mixin: true
          tools:
            search: { mode: allow }
        default:
          inherits: [base]
        support:
          inherits: [base]
          tools:
            refund:
              mode: approval_required
              constraints: ["args.amount <= 100"]
    `),
    ).toEqual([]);
  });

  it('does not report a tool two parents inherit from the same mixin', () => {
    expect(
      ids(`
      roles:
        base: { is_mixin: true, tools: { search: { mode: allow } } }
        a: { is_mixin: true, inherits: [base] }
        b: { is_mixin: true, inherits: [base] }
        default: { inherits: [a, b] }
    `),
    ).toEqual([]);
  });

  it('does not report a grant the role overrides itself (a deliberate narrowing)', () => {
    expect(
      ids(`
      roles:
        a: { is_mixin: true, tools: { get: { mode: allow } } }
        b: { is_mixin: true, tools: { get: { mode: deny } } }
        default:
          inherits: [a, b]
          tools:
            get: { mode: allow, constraints: ["args.id != \\"\\""] }
    `),
    ).toEqual([]);
  });

  it('reports a grant a later parent replaces, at the grant', () => {
    const warnings = lintPolicy(
      testPolicy(`
      roles:
        a: { is_mixin: true, tools: { get: { mode: allow } } }
        b: { is_mixin: true, tools: { get: { mode: approval_required } } }
        default: { inherits: [a, b] }
    `),
    );
    expect(warnings).toEqual([
      {
        id: 'shadowed-grant',
        file: '<test policy>',
        line: 2,
        column: 38,
        message:
          "in role 'default', the grant of 'get' from 'a' (allow) is always replaced by the entry from 'b' (approval_required), which comes later in inherits",
      },
    ]);
  });

  it('judges constraints with the constants of the role they are compiled in', () => {
    const warnings = lintPolicy(
      testPolicy(`
      roles:
        default:
          consts: { max: 0 }
          tools:
            refund:
              mode: allow
              constraints: ["args.amount > 0 and args.amount <= consts.max"]
    `),
    );
    expect(warnings.map((w) => w.message)).toEqual([
      `constraint "args.amount > 0 and args.amount <= consts.max" can never hold with the constants of role 'default', so this entry never allows a call`,
    ]);
  });

  it('does not report redundant-deny when a role needs the deny to override an allowing default_policy', () => {
    expect(
      ids(`
      roles:
        default:
          default_policy: { mode: allow }
          tools:
            delete: { mode: deny }
    `),
    ).not.toContain('redundant-deny');
  });

  it('reports a default_policy deny with constraints as ignored', () => {
    expect(
      ids(`
      default_policy:
        mode: deny
        constraints: ["args.x == 1"]
      tools:
        t: { mode: allow }
    `),
    ).toEqual(['ignored-constraints']);
  });
});

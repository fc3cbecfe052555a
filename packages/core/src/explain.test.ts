import { describe, expect, it } from 'vitest';
import { createEnforcer, describePolicy } from './index.ts';
import { testPolicy } from './testing/index.ts';

const policy = testPolicy(`
  roles:
    base:
      is_mixin: true
      consts: { max: 500 }
      tools:
        refund: { mode: allow, constraints: ["args.amount <= consts.max", "args.currency == \\"USD\\""] }
    billing:
      inherits: [base]
    viewer:
      tools:
        read: { mode: allow }
`);

describe('explain', () => {
  const enforcer = createEnforcer({ policy });

  it('shows roles, the applied entry, each constraint with its operand values, and the combination', () => {
    const x = enforcer.explain({
      tool: 'refund',
      args: { amount: 900 },
      user: { id: 'a', roles: ['billing', 'viewer', 'ghost'] },
    });
    expect(x.outcome).toBe('deny');
    expect(x.roles.map((r) => [r.requested, r.role, r.applied, r.definedIn])).toEqual([
      ['billing', 'billing', 'tool entry', 'base'],
      ['viewer', 'viewer', 'default_policy', 'viewer'],
      ['ghost', 'default', 'no default role (deny everything)', undefined],
    ]);
    const [amount, currency] = x.roles[0]?.constraints ?? [];
    expect(amount).toMatchObject({
      source: 'args.amount <= consts.max',
      result: 'false',
      operands: [
        { expression: 'args.amount', value: 900 },
        { expression: 'consts.max', value: 500 },
      ],
    });
    expect(currency).toMatchObject({ result: 'undefined', why: 'args.currency is missing or not applicable' });
    expect(x.combination).toMatch(/^3 roles evaluated/);
    expect(x.violations).toEqual(['args.amount <= consts.max', 'args.currency == "USD"']);
  });

  it('agrees with decide, and reports rejected arguments', () => {
    const call = { tool: 'refund', args: { amount: 5, currency: 'USD' }, user: { id: 'a', roles: ['billing'] } };
    expect(enforcer.explain(call).outcome).toBe(enforcer.decide(call).decision.outcome);
    expect(enforcer.explain({ tool: 'refund', args: '{"a":1,"a":2}' })).toMatchObject({
      outcome: 'deny',
      argsError: 'invalid arguments: duplicate key in JSON object',
    });
  });
});

describe('describePolicy', () => {
  it('lists roles after inheritance with entry origins and locations', () => {
    const d = describePolicy(policy);
    const billing = d.roles.find((r) => r.name === 'billing');
    expect(billing?.tools.refund).toMatchObject({ mode: 'allow', definedIn: 'base' });
    expect(billing?.tools.refund?.constraints[0]?.location).toMatchObject({ line: 6 });
    expect(billing?.consts).toEqual({ max: 500 });
    expect(d.hasDefaultRole).toBe(false);
    expect(d.toolNames).toEqual(['read', 'refund']);
  });
});

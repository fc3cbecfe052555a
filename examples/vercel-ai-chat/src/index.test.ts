import { describe, expect, it } from 'vitest';
import { main } from './index.ts';
import { offlineModel } from './offline-model.ts';

// An explicit offline model: the test must not depend on OPENAI_API_KEY being unset.
const offline = () => ({ log: () => {}, model: offlineModel() });

describe('vercel-ai-chat example (offline)', () => {
  it('allows the lookup, asks before the refund, denies the large refund and the hidden wire transfer', async () => {
    const lines = await main({ ...offline() });
    const text = lines.join('\n');
    expect(lines[0]).toBe('model: offline-support-model; user: sam (support)');
    expect(text).toContain('(model is offered: get_order, refund_order)');
    expect(text).toContain('tool get_order {"order_id":"PUBLIC-7"} -> allow');
    expect(text).toContain('agent > Done. Order PUBLIC-7: shipped on Monday, 2 items, 80 USD.');

    const refund = lines.slice(lines.indexOf('sam > Please refund 80 USD on PUBLIC-7.'));
    expect(refund.slice(1, 7)).toEqual([
      `  tool refund_order {"order_id":"PUBLIC-7","amount":80,"currency":"USD"} -> approval_required (role 'support' needs human approval to call 'refund_order')`,
      '  approval requested for refund_order',
      '  approver: approve refund_order {"order_id":"PUBLIC-7","amount":80,"currency":"USD"}',
      `  tool refund_order {"order_id":"PUBLIC-7","amount":80,"currency":"USD"} -> approval_required (role 'support' needs human approval to call 'refund_order')`,
      '  approval approved for refund_order',
      '  agent > Done. Refunded 80 USD on PUBLIC-7.',
    ]);
    expect(text).toContain('-> deny (constraint not satisfied: args.amount <= 100)');
    expect(text).toMatch(/agent > Sorry, I can't do that: \[policy_denied\] Tool 'refund_order'/);
    expect(text).toMatch(/tool wire_transfer .* -> deny/);
    expect(text).not.toContain('Wired');
    expect(text).not.toContain('error:');
  });

  it('a rejected approval never refunds', async () => {
    const lines = await main({ ...offline(), approve: () => false, messages: ['Please refund 80 USD on PUBLIC-7.'] });
    const text = lines.join('\n');
    expect(text).toContain('approver: reject refund_order');
    expect(text).toContain('approval rejected for refund_order: rejected by the approver');
    expect(text).not.toContain('Refunded');
    expect(text).toContain("agent > Sorry, I can't do that: rejected by the approver");
  });

  it('billing staff refund directly, without an approval', async () => {
    const lines = await main({
      ...offline(),
      user: { id: 'bea', roles: ['billing'] },
      messages: ['Please refund 250 USD on PUBLIC-7.'],
    });
    const text = lines.join('\n');
    expect(text).toContain('-> allow');
    expect(text).not.toContain('approval');
    expect(text).toContain('agent > Done. Refunded 250 USD on PUBLIC-7.');
  });
});

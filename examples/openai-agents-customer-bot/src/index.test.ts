import { describe, expect, it } from 'vitest';
import { main } from './index.ts';

describe('openai-agents customer bot (offline, scripted model)', () => {
  it('decides each call for its user: allow, deny, and an approval approved or rejected by the reviewer', async () => {
    const lines: string[] = [];
    const report = await main({ write: (line) => lines.push(line), offline: true });

    expect(
      report.decisions.map((e) => [e.decision.userId, e.decision.tool, e.decision.outcome, e.decision.decidingRole]),
    ).toEqual([
      ['sam', 'get_order', 'allow', 'support'],
      ['sam', 'refund_order', 'approval_required', 'support'], // the request
      ['sam', 'refund_order', 'approval_required', 'support'], // decided again when the approved call runs
      ['sam', 'refund_order', 'deny', 'support'],
      ['sam', 'wire_transfer', 'deny', 'support'],
      ['bea', 'refund_order', 'allow', 'billing'],
      ['bea', 'wire_transfer', 'approval_required', 'billing'],
      ['bea', 'refund_order', 'deny', 'billing'],
    ]);
    expect(report.decisions.every((e) => e.decision.agentName === 'support-bot')).toBe(true);
    expect(report.approvals.map((a) => [a.decision.userId, a.decision.tool, a.status])).toEqual([
      ['sam', 'refund_order', 'requested'],
      ['sam', 'refund_order', 'approved'],
      ['bea', 'wire_transfer', 'requested'],
      ['bea', 'wire_transfer', 'rejected'],
    ]);
    // Only the allowed and the approved refunds really happened.
    expect(report.effects).toEqual(['refunded 40 EUR on A-1001', 'refunded 250 EUR on A-1002']);
    // The model saw why the blocked calls were blocked, and said so.
    expect(report.replies.sam).toContain('blocked by policy (constraint not satisfied: args.amount <= 100)');
    expect(report.replies.bea).toContain('wire_transfer: needs an approval that was not given');

    const text = lines.join('\n');
    expect(text).toMatch(/✔ ALLOW\s+get_order\s+order_id=A-1001/);
    expect(text).toMatch(/⏸ APPROVAL\s+refund_order\s+order_id=A-1001 amount=40/);
    expect(text).toMatch(/✖ DENY\s+wire_transfer[^\n]*\n\s+support · tool 'wire_transfer' is not allowed/);
    expect(text).toMatch(/✖ REJECTED\s+wire_transfer/);
    expect(text).not.toContain('\x1b['); // no colour codes when writing to a function
  });
});

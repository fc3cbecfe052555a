import { startOtlpReceiver } from '@hexgate/tracing/testing';
import { expect, it } from 'vitest';
import { main } from './index.ts';
import { startLangfuse } from './langfuse.ts';

it('is not traced without Langfuse keys', () => {
  expect(startLangfuse({})).toBeUndefined();
});

it('with Langfuse keys, traces every run (a resume is a run) with its user and each decision', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const stop = startLangfuse({
      LANGFUSE_PUBLIC_KEY: 'pk-lf-demo',
      LANGFUSE_SECRET_KEY: 'sk-lf-demo',
      LANGFUSE_BASE_URL: receiver.url,
    });
    const report = await main({ write: () => {}, offline: true });
    await stop?.();

    expect(report.effects).toEqual(['refunded 40 EUR on A-1001', 'refunded 250 EUR on A-1002']);
    const traces = [...receiver.traces().values()];
    const runs = traces.map((spans) => spans.filter((s) => s.observation.type === 'agent'));
    // Each user's run pauses for an approval and is resumed: two runs (two traces) per user.
    expect(runs.map((r) => r.map((s) => [s.name, s.userId]))).toEqual([
      [['openai-agents:support-bot', 'sam']],
      [['openai-agents:support-bot', 'sam']],
      [['openai-agents:support-bot', 'bea']],
      [['openai-agents:support-bot', 'bea']],
    ]);
    const guardrails = traces.flatMap((spans) =>
      spans
        .filter((s) => s.observation.type === 'guardrail')
        .map((s) => {
          const m = s.observation.metadata as { outcome: string; approval?: { status: string } };
          return `${s.userId} ${s.name} ${m.outcome}${m.approval ? `/${m.approval.status}` : ''} ${s.observation.level}`;
        }),
    );
    expect(guardrails.sort()).toEqual([
      'bea policy:refund_order allow DEFAULT',
      'bea policy:refund_order deny WARNING',
      'bea policy:wire_transfer approval_required/rejected WARNING',
      'bea policy:wire_transfer approval_required/requested WARNING',
      'sam policy:get_order allow DEFAULT',
      'sam policy:refund_order approval_required/approved DEFAULT',
      'sam policy:refund_order approval_required/requested WARNING',
      'sam policy:refund_order deny WARNING',
      'sam policy:wire_transfer deny WARNING',
    ]);
  } finally {
    await receiver.close();
  }
});

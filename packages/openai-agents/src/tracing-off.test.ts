/**
 * Tracing is on only when a tracer provider is registered. With Langfuse set
 * up but not registered, HexgateRunner exports nothing, and what a run does
 * (decisions, tool executions, what the model sees, approvals, streamed or
 * not) is exactly what it does with Langfuse registered.
 */
import { isTracingEnabled } from '@hexgate/tracing';
import { setupLangfuseForTest } from '@hexgate/tracing/testing';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { expect, it } from 'vitest';
import { bea, enforcer, sam, toolOutputSeenByModel } from './__fixtures__/kit.ts';
import { deskAgent } from './__fixtures__/traced-desk.ts';
import { HexgateRunner } from './index.ts';

/** Everything observable about a batch of runs, except tracing. */
async function observe() {
  const model = new ScriptedModel([
    // sam: allowed + denied, then an approval request
    [
      functionCall('get_order', { order_id: 'A-1' }, { callId: 'g1' }),
      functionCall('reset_password', { account: 'A-1', password: 'hunter2' }, { callId: 'p1' }),
    ],
    [functionCall('refund', { order_id: 'A-1', amount: 80 }, { callId: 'r1' })],
    // resumed after the approval
    [assistantMessage('sam done')],
    // bea, streamed
    [functionCall('reset_password', { account: 'B-2', password: 'hunter3' }, { callId: 'p2' })],
    [assistantMessage('bea done')],
  ]);
  const { agent, executions } = deskAgent(model);
  const rec = enforcer();
  const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

  const paused = await runner.run(agent, 'help', { user: sam });
  const interruptions = paused.interruptions.map((i) => [i.name, i.arguments]);
  paused.state.approve(paused.interruptions[0]!);
  const resumed = await runner.run(agent, paused.state, { user: sam });
  const stream = await runner.run(agent, 'help', { user: bea, stream: true });
  for await (const _event of stream) {
    // consume
  }
  await stream.completed;

  return {
    interruptions,
    outputs: [resumed.finalOutput, stream.finalOutput],
    seen: ['g1', 'p1', 'r1', 'p2'].map((id) => toolOutputSeenByModel(model, id)?.replace(/[0-9a-f-]{36}/g, '<id>')),
    executions: [...executions],
    // Parallel calls are decided in no promised order: compare them as a set.
    decisions: rec.decisions
      .map(({ decision: d }) => [d.tool, d.userId, d.outcome, d.effective, d.reason, d.decidingRole, [...d.violations]])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    approvals: rec.approvals.map((a) => [a.status, a.decision.tool, a.decision.userId]),
  };
}

it('exports nothing without a registered provider, and runs exactly as a traced run does', async () => {
  // Langfuse is set up and pointed at the receiver, but not registered.
  const lf = await setupLangfuseForTest({ register: false });
  try {
    expect(isTracingEnabled()).toBe(false);
    const untraced = await observe();
    await lf.flush();
    expect(lf.receiver.requests).toHaveLength(0);

    lf.provider.register();
    expect(isTracingEnabled()).toBe(true);
    const traced = await observe();
    await lf.flush();
    expect(lf.receiver.traces().size).toBe(3); // the receiver does hear a registered provider

    expect(traced).toEqual(untraced);
    expect(untraced.interruptions).toEqual([['refund', JSON.stringify({ order_id: 'A-1', amount: 80 })]]);
    expect(untraced.decisions.map(([tool, user, outcome]) => `${user}:${tool}:${outcome}`).sort()).toEqual([
      'bea:reset_password:allow',
      'sam:get_order:allow',
      'sam:refund:approval_required',
      'sam:refund:approval_required',
      'sam:reset_password:deny',
    ]);
    expect(untraced.executions.map((e) => `${e.user}:${e.tool}`)).toEqual([
      'sam:get_order',
      'sam:refund',
      'bea:reset_password',
    ]);
    expect(untraced.seen[1]).toMatch(/^\[policy_denied\]/);
    expect(untraced.approvals.map(([status]) => status)).toEqual(['requested', 'approved']);
  } finally {
    await lf.shutdown();
  }
});

/**
 * Without a registered tracer provider, hexgate tracing is a pass-through:
 * nothing is exported even when Langfuse is configured but never registered,
 * and every call returns, throws and decides exactly as it would untraced.
 */

import { PolicyDeniedError, runWithUser } from '@hexgate/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executions, makeEnforcer, simulatedRun, standardCalls } from './__fixtures__/simulated-agent.ts';
import { isTracingEnabled, recordDecision, traceRun, traceRunStream, traceToolCall } from './index.ts';
import { type LangfuseTestSetup, setupLangfuseForTest } from './testing/index.ts';

const alice = { id: 'alice', roles: ['support'], sessionId: 'sess-alice' };
const bob = { id: 'bob', roles: [], sessionId: 'sess-bob' };

// Langfuse set up completely, but its provider is never registered: tracing is off.
let off: LangfuseTestSetup;
beforeAll(async () => {
  off = await setupLangfuseForTest({ register: false });
});
afterAll(() => off.shutdown());

/** Everything observable about a batch of runs except tracing. */
async function observe() {
  executions.length = 0;
  const enforcer = makeEnforcer();
  const outputs = [
    await simulatedRun(enforcer, alice, standardCalls),
    await simulatedRun(enforcer, bob, standardCalls),
  ];
  const decisions = enforcer.decisions.map(({ decision: d }) => [
    d.tool,
    d.userId,
    d.outcome,
    d.effective,
    d.reason,
    d.decidingRole,
    [...d.violations],
  ]);
  return { outputs, decisions, executions: [...executions] };
}

describe('no tracer provider registered', () => {
  it('exports nothing, and decisions, results and executions are those of a traced run', async () => {
    expect(isTracingEnabled()).toBe(false);
    const untraced = await observe();
    await off.flush();
    expect(off.receiver.requests).toHaveLength(0);

    // The same calls with Langfuse registered: identical from the caller's side.
    const lf = await setupLangfuseForTest();
    let traced: Awaited<ReturnType<typeof observe>>;
    try {
      expect(isTracingEnabled()).toBe(true);
      traced = await observe();
      await lf.flush();
      expect(lf.receiver.spans().length).toBeGreaterThan(0);
    } finally {
      await lf.shutdown();
    }
    expect(isTracingEnabled()).toBe(false);
    expect(traced).toEqual(untraced);
    expect(untraced.outputs[0]).toEqual([
      'sunny in Paris',
      expect.stringMatching(/^\[policy_denied\] Tool 'change_password'/),
      'logged in bob',
      'refunded 50',
      '[tool_error] upstream timeout',
    ]);
    expect(untraced.executions).toEqual(['get_weather', 'login', 'refund', 'flaky', 'get_weather', 'login', 'flaky']);
  });

  it('passes values, errors, streams and the user scope straight through', async () => {
    expect(traceRun({ framework: 'test' }, () => 42)).toBe(42);
    expect(() =>
      traceRun({ framework: 'test' }, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    await expect(traceRun({ framework: 'test' }, async () => Promise.reject(new Error('late')))).rejects.toThrow(
      'late',
    );
    const stream = (async function* () {
      yield 1;
    })();
    // The very same object, not a wrapper.
    expect(traceRunStream({ framework: 'test' }, () => stream)).toBe(stream);
    const pending = Promise.resolve(stream);
    expect(traceRunStream({ framework: 'test' }, () => pending)).toBe(pending);
    const seen = await runWithUser(alice, () =>
      traceRun({ framework: 'test' }, async () => executions.length >= 0 && (await Promise.resolve('in scope'))),
    );
    expect(seen).toBe('in scope');
  });

  it('still gates: traceToolCall never runs a tool the decision does not permit; recordDecision is a no-op', () => {
    const enforcer = makeEnforcer();
    const { decision, args } = runWithUser(bob, () =>
      enforcer.decide({ tool: 'change_password', args: { password: 'x' } }),
    );
    let ran = false;
    expect(() => traceToolCall(decision, args, () => (ran = true))).toThrow(PolicyDeniedError);
    expect(ran).toBe(false);
    expect(() => recordDecision(decision, args)).not.toThrow();
    const allowed = enforcer.decide({ tool: 'get_weather', args: { city: 'Paris' } });
    expect(traceToolCall(allowed.decision, allowed.args, () => 'ran')).toBe('ran');
    expect(off.receiver.requests).toHaveLength(0);
  });
});

/**
 * Without a registered tracer provider, the adapter traces nothing and
 * behaves exactly as with tracing on: same decisions, tool results and
 * executions. (Its own file: vitest runs each test file in its own worker, so
 * no other test's provider is registered here.)
 */
import { isTracingEnabled } from '@hexgate/tracing';
import { type LangfuseTestSetup, setupLangfuseForTest } from '@hexgate/tracing/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, thread } from './__fixtures__/agents.ts';
import { alice, runScenario, SECRET, tracedAgent } from './__fixtures__/tracing.ts';

// Langfuse set up completely, but its provider is never registered: tracing is off.
let off: LangfuseTestSetup;
beforeAll(async () => {
  off = await setupLangfuseForTest({ register: false });
});
afterAll(() => off.shutdown());

describe('no tracer provider registered', () => {
  it('exports nothing, and decisions, tool results and executions equal those of a traced run', async () => {
    expect(isTracingEnabled()).toBe(false);
    const untraced = await runScenario('createAgent');
    await off.flush();
    expect(off.receiver.requests).toHaveLength(0);

    const lf = await setupLangfuseForTest();
    let traced: Awaited<ReturnType<typeof runScenario>>;
    try {
      expect(isTracingEnabled()).toBe(true);
      traced = await runScenario('createAgent');
      await lf.flush();
      // allow/deny run, approval (2 runs), two concurrent users
      expect(lf.receiver.traces().size).toBe(5);
      expect(lf.receiver.allBodies()).not.toContain(SECRET);
    } finally {
      await lf.shutdown();
    }
    expect(isTracingEnabled()).toBe(false);
    expect(traced).toEqual(untraced);
    // And the scenario did what it says: an allow, a deny, an approval, per-user outcomes.
    expect(untraced.decisions.map(([tool, user, outcome]) => `${tool}:${user}:${outcome}`)).toEqual([
      'get_weather:alice:deny',
      'get_weather:bob:allow',
      'login:alice:allow',
      'login:alice:deny',
      'set_password:alice:approval_required',
      'set_password:alice:approval_required',
      'whoami:alice:allow',
      'whoami:bob:allow',
    ]);
    expect(untraced.executions).toEqual([
      'get_weather:bob',
      'login:alice',
      'set_password:alice',
      'whoami:alice',
      'whoami:bob',
    ]);
    expect(untraced.messages[0]?.allowed).toBe('logged in alice');
    expect(JSON.parse(untraced.messages[0]?.denied ?? '{}').error.type).toBe('policy_denied');
    expect(untraced.messages[1]?.sp).toBe('password of alice changed');
  });

  it('returns the graph objects themselves: streams are not wrapped', async () => {
    const { agent } = tracedAgent('createReactAgent', [{ name: 'get_weather', args: { city: 'Oslo' }, id: 'o' }]);
    const stream = await agent.stream(ask(), { user: alice, ...thread('plain-stream') });
    // A traced stream is a Proxy over the graph's stream; an untraced one is the graph's own object,
    // whose async iterator is the stream itself.
    expect(stream[Symbol.asyncIterator]()).toBe(stream);
    for await (const _ of stream) {
      // drain
    }
    await off.flush();
    expect(off.receiver.requests).toHaveLength(0);
  });
});

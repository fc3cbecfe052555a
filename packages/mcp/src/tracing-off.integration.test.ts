/**
 * Without a registered tracer provider, gated MCP calls are traced nowhere:
 * nothing is exported even when Langfuse is configured but never registered,
 * and what the client sees and what is decided is exactly what a traced
 * server gives.
 */
import { isTracingEnabled } from '@hexgate/tracing';
import { type LangfuseTestSetup, setupLangfuseForTest } from '@hexgate/tracing/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from './__fixtures__/connect.ts';
import { buildServer, callAll, OPERATOR_CALLS, olgaToken, stableDecision } from './__fixtures__/traced-server.ts';

// Langfuse set up completely, but its provider is never registered: tracing is off.
let off: LangfuseTestSetup;
beforeAll(async () => {
  off = await setupLangfuseForTest({ register: false });
});
afterAll(() => off.shutdown());

/** Everything observable about the scenario except tracing. */
async function scenario() {
  const { server, enforcer, ran } = buildServer({
    approvalHandler: ({ args }) => (args as { path: string }).path.startsWith('/srv/tmp/'),
  });
  const operator = await connect(server, { authInfo: olgaToken, sessionId: 'mcp-session-1' });
  const results = await callAll(operator, [
    ...OPERATOR_CALLS,
    { name: 'delete_file', arguments: { path: '/srv/data/keep.db' } },
  ]);
  await operator.close();
  const { server: anonServer, enforcer: anonEnforcer } = buildServer();
  const anonymous = await connect(anonServer);
  results.push(
    ...(await callAll(anonymous, [
      { name: 'read_file', arguments: { path: '/srv/a.txt' } },
      { name: 'read_file', arguments: { path: '/etc/shadow' } },
      { name: 'delete_file', arguments: { path: '/srv/tmp/x' } },
    ])),
  );
  await anonymous.close();
  return {
    results,
    ran,
    decisions: [...enforcer.decisions, ...anonEnforcer.decisions].map(stableDecision),
    approvals: enforcer.approvals.map((a) => [a.status, a.decision.tool]),
  };
}

describe('no tracer provider registered', () => {
  it('exports nothing, and results and decisions are those of a traced server', async () => {
    expect(isTracingEnabled()).toBe(false);
    const untraced = await scenario();
    await off.flush();
    expect(off.receiver.requests).toHaveLength(0);

    // Sanity: the scenario covers allow, deny, approval (approved and rejected) and a tool error.
    expect(untraced.results.map((r) => r.isError)).toEqual([false, true, false, false, true, true, false, true, true]);
    expect(untraced.ran).toEqual(['read_file', 'delete_file', 'connect_db', 'flaky']);

    const lf = await setupLangfuseForTest();
    try {
      expect(isTracingEnabled()).toBe(true);
      const traced = await scenario();
      await lf.flush();
      expect(lf.receiver.traces().size).toBe(untraced.results.length);
      expect(traced).toEqual(untraced);
    } finally {
      await lf.shutdown();
    }
    expect(isTracingEnabled()).toBe(false);
  });
});

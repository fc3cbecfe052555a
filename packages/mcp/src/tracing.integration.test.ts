/**
 * Langfuse tracing of gated MCP tool calls, asserted on what Langfuse's real
 * span processor and OTLP exporter sent to a local receiver (no network).
 */
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type Decision, type DecisionEvent, loadPolicySync, type User } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { isTracingEnabled } from '@hexgate/tracing';
import { type LangfuseTestSetup, type ReceivedSpan, setupLangfuseForTest } from '@hexgate/tracing/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeClients, connect, text } from './__fixtures__/connect.ts';
import { buildServer, callAll, OPERATOR_CALLS, olgaToken, POLICY } from './__fixtures__/traced-server.ts';
import { runMcpProxy, withHexgateServer } from './index.ts';

let lf: LangfuseTestSetup;
beforeEach(async () => {
  lf = await setupLangfuseForTest();
});
afterEach(async () => {
  await closeClients();
  await lf.shutdown();
});

/** The guardrail observation of one decision, found by its decision id. */
function guardrailOf(decision: Decision): ReceivedSpan {
  const found = lf.receiver.spans().filter((s) => s.observation.metadata.decisionId === decision.id);
  expect(found, `one guardrail for decision ${decision.tool}/${decision.outcome}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

const parentOf = (span: ReceivedSpan) => lf.receiver.spans().find((s) => s.spanId === span.parentSpanId);
const childrenOf = (span: ReceivedSpan) => lf.receiver.spans().filter((s) => s.parentSpanId === span.spanId);

describe('withHexgate(McpServer) with Langfuse registered', () => {
  it('one trace per tool call, with user, session, roles, and a decision observation per call', async () => {
    expect(isTracingEnabled()).toBe(true);
    const { server, enforcer, ran } = buildServer();
    const client = await connect(server, { authInfo: olgaToken, sessionId: 'mcp-session-7' });

    const out = await callAll(client, OPERATOR_CALLS);
    await lf.flush();

    // What the client saw: allow, deny, approval required, allow, tool error.
    expect(out.map((o) => o.isError)).toEqual([false, true, true, false, true]);
    expect(out[1]?.text).toMatch(/^\[policy_denied\]/);
    expect(out[2]?.text).toMatch(/^\[approval_required\]/);
    expect(ran).toEqual(['read_file', 'connect_db', 'flaky']);

    const traces = lf.receiver.traces();
    expect(traces.size).toBe(OPERATOR_CALLS.length);
    const decisions = enforcer.decisions.map((e) => e.decision);
    expect(decisions.map((d) => d.outcome)).toEqual(['allow', 'deny', 'approval_required', 'allow', 'allow']);

    for (const decision of decisions) {
      const guardrail = guardrailOf(decision);
      // The run: root of its own trace, the MCP call's caller and session, the user's roles.
      const run = parentOf(guardrail) as ReceivedSpan;
      expect(run).toBeDefined();
      expect(run.parentSpanId).toBeUndefined();
      expect(run.name).toBe(`mcp:${decision.tool}`);
      expect(run.observation.type).toBe('agent');
      expect(run.traceName).toBe(`mcp:${decision.tool}`);
      expect(run.tags).toContain('hexgate');
      expect(run.traceMetadata).toMatchObject({ roles: 'operator', agent: 'files-server', framework: 'mcp' });
      expect(traces.get(run.traceId)?.filter((s) => s.observation.type === 'agent')).toHaveLength(1);
      for (const span of traces.get(run.traceId) ?? []) {
        expect(span.userId).toBe('olga');
        // The transport's MCP session id wins over the user's own sessionId.
        expect(span.sessionId).toBe('mcp-session-7');
      }
      // The decision observation.
      expect(guardrail.name).toBe(`policy:${decision.tool}`);
      expect(guardrail.observation.type).toBe('guardrail');
      expect(guardrail.observation.metadata).toMatchObject({
        outcome: decision.outcome,
        effective: decision.effective,
        reason: decision.reason,
        violations: [...decision.violations],
        decidingRole: decision.decidingRole ?? null,
        policyDigest: decision.policyDigest,
        evaluationMs: decision.evaluationMs,
        agentName: 'files-server',
      });
      expect(decision.policyDigest).toMatch(/^[0-9a-f]{16,}/);
    }

    const [readFile, denied, approval, allowedDb, flaky] = decisions.map(guardrailOf) as ReceivedSpan[];
    // Allowed: DEFAULT level, the tool ran, and its execution is a child `tool:` observation.
    expect(readFile?.observation.level).toBe('DEFAULT');
    expect(readFile?.observation.metadata).toMatchObject({ toolRan: true, toolStatus: 'ok' });
    expect(childrenOf(readFile as ReceivedSpan).map((s) => [s.name, s.observation.type])).toEqual([
      ['tool:read_file', 'tool'],
    ]);
    // Denied: WARNING with the reason, never ran, no execution.
    expect(denied?.observation).toMatchObject({ level: 'WARNING', statusMessage: decisions[1]?.reason });
    expect(denied?.observation.metadata).toMatchObject({ toolRan: false, toolStatus: 'blocked' });
    expect(decisions[1]?.violations.length).toBeGreaterThan(0);
    expect(childrenOf(denied as ReceivedSpan)).toHaveLength(0);
    // Approval required, no approver: WARNING, pending, never ran.
    expect(approval?.observation.level).toBe('WARNING');
    expect(approval?.observation.metadata).toMatchObject({ toolRan: false, toolStatus: 'pending_approval' });
    expect(childrenOf(approval as ReceivedSpan)).toHaveLength(0);
    // Arguments are recorded, redacted.
    expect(allowedDb?.observation.input).toEqual({
      tool: 'connect_db',
      args: { host: 'db-staging', password: '[REDACTED]' },
    });
    expect(denied?.observation.input).toEqual({
      tool: 'connect_db',
      args: { host: 'prod-primary', password: '[REDACTED]' },
    });
    // An `isError` result marks the execution ERROR.
    const flakyTool = childrenOf(flaky as ReceivedSpan)[0];
    expect(flakyTool?.observation.level).toBe('ERROR');
    expect(flaky?.observation.metadata).toMatchObject({ toolRan: true, toolStatus: 'error' });

    // Secrets never leave the process, whatever observation they could have landed in.
    const bodies = lf.receiver.allBodies();
    expect(bodies).toContain('db-staging');
    expect(bodies).not.toContain('hunter2');
    expect(bodies).not.toContain('t-olga');
  });

  it("uses the user's own sessionId when the transport has no MCP session", async () => {
    const { server } = buildServer();
    const client = await connect(server, { authInfo: olgaToken });

    await client.callTool({ name: 'read_file', arguments: { path: '/srv/a.txt' } });
    await lf.flush();

    const spans = lf.receiver.spans();
    expect(spans.length).toBeGreaterThan(0);
    for (const span of spans) {
      expect(span.userId).toBe('olga');
      expect(span.sessionId).toBe('olga-own-session');
    }
  });

  it('records approvals: approved runs with the approval noted, rejected is a WARNING that never ran', async () => {
    const { server, enforcer, ran } = buildServer({
      approvalHandler: ({ args }) => (args as { path: string }).path.startsWith('/srv/tmp/'),
    });
    const client = await connect(server, { authInfo: olgaToken });

    const out = await callAll(client, [
      { name: 'delete_file', arguments: { path: '/srv/tmp/old.log' } },
      { name: 'delete_file', arguments: { path: '/srv/data/db.sqlite' } },
    ]);
    await lf.flush();

    expect(out.map((o) => o.text)).toEqual(['deleted /srv/tmp/old.log', expect.stringMatching(/^\[policy_denied\]/)]);
    expect(ran).toEqual(['delete_file']);
    const [approved, rejected] = enforcer.decisions.map((e) => guardrailOf(e.decision)) as ReceivedSpan[];
    expect(approved?.observation.level).toBe('DEFAULT');
    expect(approved?.observation.metadata).toMatchObject({
      outcome: 'approval_required',
      approval: { status: 'approved' },
      toolRan: true,
      toolStatus: 'ok',
    });
    expect(childrenOf(approved as ReceivedSpan).map((s) => s.name)).toEqual(['tool:delete_file']);
    expect(rejected?.observation.level).toBe('WARNING');
    expect(rejected?.observation.metadata).toMatchObject({
      outcome: 'approval_required',
      approval: { status: 'rejected', reason: 'approval was not granted' },
      toolRan: false,
      toolStatus: 'blocked',
    });
    expect(lf.receiver.traces().size).toBe(2);
  });

  it('traces an anonymous caller without a user, including a call denied before schema validation', async () => {
    const { server, enforcer } = buildServer();
    const client = await connect(server, { sessionId: 'mcp-anon' });

    // delete_file is hidden from the default role: decided before the SDK sees the (invalid) arguments.
    const result = await client.callTool({ name: 'delete_file', arguments: { path: 42, password: 'hunter2' } });
    await lf.flush();

    expect(text(result)).toMatch(/^\[policy_denied\]/);
    const guardrail = guardrailOf(enforcer.decisions[0]?.decision as Decision);
    expect(guardrail.observation.level).toBe('WARNING');
    expect(parentOf(guardrail)?.name).toBe('mcp:delete_file');
    for (const span of lf.receiver.spans()) expect(span.userId).toBeUndefined();
    expect(lf.receiver.allBodies()).not.toContain('hunter2');
  });

  it("nests under the host's own span when the server is instrumented", async () => {
    const { server, enforcer } = buildServer();
    const client = await connect(server, { authInfo: olgaToken });
    // An instrumented host: every incoming message is handled inside its span
    // (what an HTTP server instrumentation does around handleRequest).
    const transport = server.server.transport as InMemoryTransport;
    const handle = transport.onmessage;
    const hostSpans: { traceId: string; spanId: string }[] = [];
    transport.onmessage = (message, extra) =>
      trace.getTracer('host-http').startActiveSpan('POST /mcp', (span) => {
        hostSpans.push(span.spanContext());
        try {
          handle?.(message, extra);
        } finally {
          span.end();
        }
      });

    await client.callTool({ name: 'connect_db', arguments: { host: 'prod-primary', password: 'x' } });
    await lf.flush();

    const guardrail = guardrailOf(enforcer.decisions[0]?.decision as Decision);
    const run = parentOf(guardrail) as ReceivedSpan;
    expect(run.name).toBe('mcp:connect_db');
    const host = hostSpans.find((s) => s.spanId === run.parentSpanId);
    expect(host, 'the run is a child of the host span').toBeDefined();
    expect(run.traceId).toBe(host?.traceId);
    expect(guardrail.traceId).toBe(host?.traceId);
    // Inside someone else's trace hexgate does not name the trace.
    expect(run.traceName).toBeUndefined();
    expect(run.userId).toBe('olga');
  });
});

describe('withHexgateServer(Server) with Langfuse registered', () => {
  it('traces the low-level tools/call handler the same way', async () => {
    const server = new Server({ name: 'low-level', version: '1.0.0' }, { capabilities: { tools: {} } });
    const enforcer = recordingEnforcer({ policy: POLICY });
    const user: User = { id: 'lena', roles: ['operator'], sessionId: 'lena-session' };
    withHexgateServer(server, { policy: enforcer, resolveUser: () => user });
    server.setRequestHandler(CallToolRequestSchema, async (request) => ({
      content: [{ type: 'text', text: `ran ${request.params.name}` }],
    }));
    const client = await connect(server);

    const allowed = await client.callTool({ name: 'read_file', arguments: { path: '/x', token: 'tok-secret' } });
    const denied = await client.callTool({ name: 'connect_db', arguments: { host: 'prod', password: 'hunter2' } });
    await lf.flush();

    expect(text(allowed)).toBe('ran read_file');
    expect(text(denied)).toMatch(/^\[policy_denied\]/);
    expect(lf.receiver.traces().size).toBe(2);
    const [ok, no] = enforcer.decisions.map((e) => guardrailOf(e.decision)) as ReceivedSpan[];
    expect(parentOf(ok as ReceivedSpan)).toMatchObject({
      name: 'mcp:read_file',
      userId: 'lena',
      sessionId: 'lena-session',
    });
    expect(ok?.observation.metadata).toMatchObject({ outcome: 'allow', toolRan: true, toolStatus: 'ok' });
    expect(childrenOf(ok as ReceivedSpan).map((s) => s.name)).toEqual(['tool:read_file']);
    expect(no?.observation).toMatchObject({ level: 'WARNING' });
    expect(no?.observation.metadata).toMatchObject({ outcome: 'deny', toolRan: false });
    expect(parentOf(no as ReceivedSpan)?.traceMetadata).toMatchObject({ agent: 'low-level', roles: 'operator' });
    expect(lf.receiver.allBodies()).not.toMatch(/hunter2|tok-secret/);
  });
});

describe('runMcpProxy with Langfuse registered', () => {
  it('traces each call for the fixed user; forwarded calls are delegated, pin denials are recorded', async () => {
    const fixtures = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__');
    const toProxy = new PassThrough();
    const fromProxy = new PassThrough();
    const decisions: DecisionEvent[] = [];
    const exit = runMcpProxy({
      policy: loadPolicySync(join(fixtures, 'proxy-policy.yaml')),
      user: { id: 'dana', roles: [], sessionId: 'dana-session' },
      command: process.execPath,
      args: ['--import', 'tsx', join(fixtures, 'fixture-server.ts')],
      cwd: join(fixtures, '..', '..'),
      stdin: toProxy,
      stdout: fromProxy,
      stderr: new PassThrough(),
      onDecision: (e) => decisions.push(e),
    });
    const client = new Client({ name: 'proxy-client', version: '1.0.0' });
    await client.connect(new StdioServerTransport(fromProxy, toProxy));
    try {
      await client.listTools(); // pins every definition
      const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi', password: 'hunter2' } });
      const del = await client.callTool({ name: 'delete_file', arguments: { path: '/etc/hosts' } });
      await client.callTool({ name: 'rug_pull', arguments: {} });
      const poisoned = await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } });
      await lf.flush();

      expect(text(echo)).toBe('hi');
      expect(text(del)).toMatch(/^\[policy_denied\]/);
      expect(text(poisoned)).toMatch(/definition changed since it was pinned/);
      expect(decisions.map((e) => [e.decision.tool, e.decision.outcome])).toEqual([
        ['echo', 'allow'],
        ['delete_file', 'deny'],
        ['rug_pull', 'allow'],
        ['weather', 'deny'],
      ]);
      expect(lf.receiver.traces().size).toBe(4);
      const [forwarded, denied, , pinDenied] = decisions.map((e) => guardrailOf(e.decision)) as ReceivedSpan[];
      for (const guardrail of [forwarded, denied, pinDenied] as ReceivedSpan[]) {
        expect(parentOf(guardrail)).toMatchObject({
          name: `mcp:${guardrail.observation.metadata.tool}`,
          userId: 'dana',
          sessionId: 'dana-session',
          traceMetadata: { agent: 'fixture-server', framework: 'mcp' },
        });
      }
      // The tool runs in the server process: recorded as delegated, no execution observation here.
      expect(forwarded?.observation.metadata).toMatchObject({ toolRan: true, toolStatus: 'delegated' });
      expect(childrenOf(forwarded as ReceivedSpan)).toHaveLength(0);
      expect(denied?.observation).toMatchObject({ level: 'WARNING' });
      expect(denied?.observation.metadata).toMatchObject({ toolRan: false, toolStatus: 'blocked' });
      // A pin denial (enforcer.refuse) is a decision like any other: WARNING, no deciding role.
      expect(pinDenied?.observation).toMatchObject({ level: 'WARNING' });
      expect(pinDenied?.observation.metadata).toMatchObject({
        outcome: 'deny',
        reason: expect.stringMatching(/definition changed since it was pinned/),
        toolRan: false,
      });
      // No role decided it (a null metadata value is not exported at all).
      expect(pinDenied?.observation.metadata.decidingRole ?? null).toBeNull();
      expect(pinDenied?.observation.input).toEqual({ tool: 'weather', args: { city: 'Oslo' } });
      expect(lf.receiver.allBodies()).not.toContain('hunter2');
    } finally {
      await client.close();
      toProxy.end();
      await exit;
    }
  });
});

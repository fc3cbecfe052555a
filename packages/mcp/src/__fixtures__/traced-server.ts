/**
 * A gated McpServer and a fixed sequence of calls for the tracing tests: the
 * same scenario runs with and without a tracer provider, so the tests can
 * compare what the client saw and what was decided.
 */
import type { ApprovalHandler, DecisionEvent } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { withHexgate } from '../index.ts';
import { resolveUser, text } from './connect.ts';

export const POLICY = `
roles:
  default:
    tools:
      read_file:
        mode: allow
        constraints:
          - startswith(args.path, "/srv/")
  operator:
    tools:
      read_file: { mode: allow }
      connect_db:
        mode: allow
        constraints:
          - startswith(args.host, "db-")
      delete_file: { mode: approval_required }
      flaky: { mode: allow }
`;

export const olgaToken: AuthInfo = {
  token: 't-olga',
  clientId: 'olga',
  scopes: ['operator'],
  extra: { sessionId: 'olga-own-session' },
};

export interface TracedServer {
  readonly server: McpServer;
  readonly enforcer: ReturnType<typeof recordingEnforcer>;
  /** Tools that actually ran, in order. */
  readonly ran: string[];
}

export function buildServer(options: { approvalHandler?: ApprovalHandler } = {}): TracedServer {
  const server = new McpServer({ name: 'files-server', version: '1.0.0' });
  const ran: string[] = [];
  const ok = (tool: string, text: string): CallToolResult => {
    ran.push(tool);
    return { content: [{ type: 'text', text }] };
  };
  server.registerTool('read_file', { inputSchema: { path: z.string() } }, async ({ path }) =>
    ok('read_file', `contents of ${path}`),
  );
  server.registerTool('connect_db', { inputSchema: { host: z.string(), password: z.string() } }, async ({ host }) =>
    ok('connect_db', `connected to ${host}`),
  );
  server.registerTool('delete_file', { inputSchema: { path: z.string() } }, async ({ path }) =>
    ok('delete_file', `deleted ${path}`),
  );
  server.registerTool('flaky', {}, async () => {
    ran.push('flaky');
    return { isError: true, content: [{ type: 'text', text: 'upstream timeout' }] };
  });
  const enforcer = recordingEnforcer({ policy: POLICY });
  withHexgate(server, {
    policy: enforcer,
    resolveUser,
    ...(options.approvalHandler ? { approvalHandler: options.approvalHandler } : {}),
  });
  return { server, enforcer, ran };
}

/** The calls every tracing test makes, as the operator olga: allow, deny, approval, allow with a secret, tool error. */
export const OPERATOR_CALLS = [
  { name: 'read_file', arguments: { path: '/srv/a.txt' } },
  { name: 'connect_db', arguments: { host: 'prod-primary', password: 'hunter2-denied' } },
  { name: 'delete_file', arguments: { path: '/srv/tmp/old.log' } },
  { name: 'connect_db', arguments: { host: 'db-staging', password: 'hunter2-allowed' } },
  { name: 'flaky', arguments: {} },
] as const;

export async function callAll(client: Client, calls: readonly { name: string; arguments: object }[]) {
  const out: { isError: boolean; text: string }[] = [];
  for (const call of calls) {
    const result = await client.callTool({ name: call.name, arguments: { ...call.arguments } });
    out.push({ isError: result.isError === true, text: text(result) });
  }
  return out;
}

/** A decision without what differs from run to run (id, time, evaluation time). */
export function stableDecision({ decision: d }: DecisionEvent) {
  return {
    tool: d.tool,
    userId: d.userId,
    sessionId: d.sessionId,
    agentName: d.agentName,
    outcome: d.outcome,
    effective: d.effective,
    reason: d.reason,
    decidingRole: d.decidingRole,
    violations: [...d.violations],
    policyDigest: d.policyDigest,
  };
}

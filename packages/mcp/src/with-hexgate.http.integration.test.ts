import { createServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getUser } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { resolveUser, text } from './__fixtures__/connect.ts';
import { withHexgate } from './index.ts';

const enforcer = recordingEnforcer({
  policy: `
    roles:
      default:
        tools:
          whoami: { mode: allow }
      operator:
        tools:
          whoami: { mode: allow }
          restart: { mode: allow }
  `,
});

/** The server's token verifier (what `requireBearerAuth` would call). */
const tokens: Record<string, AuthInfo> = {
  'tok-olga': { token: 'tok-olga', clientId: 'olga', scopes: ['operator'] },
};

function gatedServer(): McpServer {
  const server = new McpServer({ name: 'http-ops', version: '1.0.0' });
  server.registerTool('whoami', {}, async () => ({ content: [{ type: 'text', text: getUser().id }] }));
  server.registerTool('restart', { inputSchema: { service: z.string() } }, async ({ service }) => ({
    content: [{ type: 'text', text: `restarted ${service} for ${getUser().id}` }],
  }));
  return withHexgate(server, { policy: enforcer, resolveUser });
}

let http: HttpServer;
let url: URL;

beforeAll(async () => {
  http = createServer(async (req: IncomingMessage & { auth?: AuthInfo }, res) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) {
      const auth = tokens[bearer];
      if (!auth) {
        res.writeHead(401).end();
        return;
      }
      req.auth = auth; // the SDK hands req.auth to handlers as extra.authInfo
    }
    // Stateless: one server and transport per request.
    const server = gatedServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
});

afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
});

async function client(token?: string): Promise<Client> {
  const c = new Client({ name: 'http-client', version: '1.0.0' });
  await c.connect(
    new StreamableHTTPClientTransport(
      url,
      token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : {},
    ),
  );
  return c;
}

describe('withHexgate over streamable HTTP', () => {
  it('takes the caller from the verified bearer token, not from the arguments', async () => {
    const olga = await client('tok-olga');
    const anonymous = await client();

    const olgaTools = await olga.listTools();
    const anonTools = await anonymous.listTools();
    const restarted = await olga.callTool({ name: 'restart', arguments: { service: 'nginx' } });
    const forged = await anonymous.callTool({ name: 'restart', arguments: { service: 'nginx', user: 'olga' } });

    expect(olgaTools.tools.map((t) => t.name)).toEqual(['whoami', 'restart']);
    expect(anonTools.tools.map((t) => t.name)).toEqual(['whoami']);
    expect(text(restarted)).toBe('restarted nginx for olga');
    expect(forged.isError).toBe(true);
    expect(text(forged)).toMatch(/^\[policy_denied\] Tool 'restart'/);
    expect(enforcer.decisions.map((d) => [d.decision.userId, d.decision.outcome])).toEqual([
      ['olga', 'allow'],
      [undefined, 'deny'],
    ]);
    await olga.close();
    await anonymous.close();
  });

  it('keeps concurrent callers apart: each call is decided and run as its own token', async () => {
    const olga = await client('tok-olga');
    const anonymous = await client();
    const before = enforcer.decisions.length;

    const calls = Array.from({ length: 8 }, (_, i) =>
      (i % 2 === 0 ? olga : anonymous).callTool({ name: 'restart', arguments: { service: `svc-${i}` } }),
    );
    const results = await Promise.all(calls);

    results.forEach((result, i) => {
      if (i % 2 === 0) expect(text(result)).toBe(`restarted svc-${i} for olga`);
      else expect(text(result)).toMatch(/^\[policy_denied\] Tool 'restart'/);
    });
    const decided = enforcer.decisions
      .slice(before)
      .map((d) => [(d.args as { service: string }).service, d.decision.userId]);
    expect(decided.sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => [`svc-${i}`, i % 2 === 0 ? 'olga' : undefined]).sort(),
    );
    await olga.close();
    await anonymous.close();
  });
});

import { tryGetUser } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { closeClients, connect, resolveUser, text } from './__fixtures__/connect.ts';
import { withHexgate, withHexgateServer } from './index.ts';

const POLICY = `
roles:
  default:
    tools:
      get_weather:
        mode: allow
        constraints: ['args.city != "Berlin"']
  admin:
    tools:
      get_weather: { mode: allow }
      reboot: { mode: approval_required }
`;

function lowLevelServer() {
  return new Server({ name: 'weather-low', version: '1.0.0' }, { capabilities: { tools: {} } });
}

function installHandlers(server: Server, seen: { args: unknown; user: string | undefined }[]) {
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: 'get_weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'reboot', inputSchema: { type: 'object' } },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    seen.push({ args: request.params.arguments, user: tryGetUser()?.id });
    return { content: [{ type: 'text', text: `ran ${request.params.name}` }] };
  });
}

afterEach(closeClients);

describe('withHexgateServer(Server)', () => {
  it('gates the tools/call handler: allow runs it with the decided snapshot, deny never reaches it', async () => {
    const server = lowLevelServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgateServer(server, { policy: enforcer, resolveUser });
    const seen: { args: unknown; user: string | undefined }[] = [];
    installHandlers(server, seen);
    const client = await connect(server);

    const paris = await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
    const berlin = await client.callTool({ name: 'get_weather', arguments: { city: 'Berlin' } });

    expect(text(paris)).toBe('ran get_weather');
    expect(berlin.isError).toBe(true);
    expect(text(berlin)).toMatch(/^\[policy_denied\] Tool 'get_weather'/);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.args).toBe(enforcer.decisions[0]?.args);
    expect(enforcer.decisions.map((d) => [d.decision.outcome, d.decision.agentName])).toEqual([
      ['allow', 'weather-low'],
      ['deny', 'weather-low'],
    ]);
  });

  it('filters tools/list per caller and runs handlers as the resolved user', async () => {
    const anonymousServer = lowLevelServer();
    withHexgate(anonymousServer, { policy: recordingEnforcer({ policy: POLICY }), resolveUser });
    installHandlers(anonymousServer, []);
    const adminServer = lowLevelServer();
    withHexgateServer(adminServer, { policy: recordingEnforcer({ policy: POLICY }), resolveUser });
    const seen: { args: unknown; user: string | undefined }[] = [];
    installHandlers(adminServer, seen);

    const anonymous = await connect(anonymousServer);
    const admin = await connect(adminServer, { authInfo: { token: 't', clientId: 'ada', scopes: ['admin'] } });

    expect((await anonymous.listTools()).tools.map((t) => t.name)).toEqual(['get_weather']);
    expect((await admin.listTools()).tools.map((t) => t.name)).toEqual(['get_weather', 'reboot']);
    const reboot = await admin.callTool({ name: 'reboot', arguments: {} });
    await admin.callTool({ name: 'get_weather', arguments: { city: 'Berlin' } });
    expect(text(reboot)).toMatch(/^\[approval_required\]/);
    expect(seen).toEqual([{ args: { city: 'Berlin' }, user: 'ada' }]);
  });

  it('gates tools/call and tools/list answered by fallbackRequestHandler, before or after it was applied', async () => {
    const seen: { method: string; args: unknown }[] = [];
    const fallback: NonNullable<Server['fallbackRequestHandler']> = async (request) => {
      seen.push({ method: request.method, args: (request.params as { arguments?: unknown } | undefined)?.arguments });
      if (request.method === 'tools/list') {
        return {
          tools: [
            { name: 'get_weather', inputSchema: { type: 'object' } },
            { name: 'reboot', inputSchema: { type: 'object' } },
          ],
        } as never;
      }
      return { content: [{ type: 'text', text: `ran ${request.method}` }] } as never;
    };
    const before = lowLevelServer();
    before.fallbackRequestHandler = fallback;
    const beforeEnforcer = recordingEnforcer({ policy: POLICY });
    withHexgateServer(before, { policy: beforeEnforcer, resolveUser });
    const after = lowLevelServer();
    const afterEnforcer = recordingEnforcer({ policy: POLICY });
    withHexgateServer(after, { policy: afterEnforcer, resolveUser });
    after.fallbackRequestHandler = fallback;

    for (const [server, enforcer] of [
      [before, beforeEnforcer],
      [after, afterEnforcer],
    ] as const) {
      seen.length = 0;
      const client = await connect(server);
      const berlin = await client.callTool({ name: 'get_weather', arguments: { city: 'Berlin' } });
      const paris = await client.callTool({ name: 'get_weather', arguments: { city: 'Paris' } });
      const listed = await client.listTools();

      expect(text(berlin)).toMatch(/^\[policy_denied\] Tool 'get_weather'/);
      expect(text(paris)).toBe('ran tools/call');
      expect(listed.tools.map((t) => t.name)).toEqual(['get_weather']);
      expect(seen).toEqual([
        { method: 'tools/call', args: { city: 'Paris' } },
        { method: 'tools/list', args: undefined },
      ]);
      expect(seen[0]?.args).toBe(enforcer.decisions[1]?.args);
    }
  });

  it('refuses a server whose tool handlers were installed before it, rather than leave them ungated', () => {
    const server = lowLevelServer();
    installHandlers(server, []);
    expect(() => withHexgateServer(server, { policy: recordingEnforcer({ policy: POLICY }) })).toThrow(
      /apply withHexgateServer before setRequestHandler/,
    );
  });
});

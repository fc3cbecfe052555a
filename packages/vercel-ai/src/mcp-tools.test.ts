import { createMCPClient, experimental_createMCPClient } from '@ai-sdk/mcp';
import { runWithUser } from '@hexgate/core';
import { recordingEnforcer, testPolicy } from '@hexgate/core/testing';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { generateText, stepCountIs } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { call, calls, scriptedModel, text, toolResultsSent } from './__fixtures__/scripted-model.ts';
import { hexgateToolApproval, hexgateTools } from './index.ts';

/** A real MCP server in this process, reached by @ai-sdk/mcp over an in-memory transport. */
async function connect(create: typeof createMCPClient = createMCPClient) {
  const ran: string[] = [];
  const server = new McpServer({ name: 'orders', version: '1.0.0' });
  server.registerTool('lookup_order', { inputSchema: { order_id: z.string() } }, async ({ order_id }) => {
    ran.push(`lookup_order ${order_id}`);
    return { content: [{ type: 'text', text: `order ${order_id} shipped` }] };
  });
  // Not mentioned by any policy below.
  server.registerTool('wipe_database', { inputSchema: { confirm: z.boolean() } }, async () => {
    ran.push('wipe_database');
    return { content: [{ type: 'text', text: 'wiped' }] };
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await server.connect(serverTransport);
  const client = await create({ transport: clientTransport });
  closers.push(
    () => client.close(),
    () => server.close(),
  );
  return { client, ran };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const allowLookup = `
  roles:
    default:
      tools:
        lookup_order: { mode: allow }
`;

describe('MCP tools from @ai-sdk/mcp', () => {
  it.each([
    ['createMCPClient', createMCPClient],
    ['experimental_createMCPClient', experimental_createMCPClient],
  ])('are gated like local tools (%s); a tool the policy does not mention is denied', async (_, create) => {
    const { client, ran } = await connect(create);
    const enforcer = recordingEnforcer({ policy: testPolicy(allowLookup) });
    const discovered = await client.tools();
    expect(Object.keys(discovered).sort()).toEqual(['lookup_order', 'wipe_database']);
    const model = scriptedModel(
      calls(call('c1', 'lookup_order', { order_id: 'A-1' }), call('c2', 'wipe_database', { confirm: true })),
      text('done'),
    );
    await runWithUser({ id: 'u1' }, () =>
      generateText({
        model,
        tools: hexgateTools(discovered, { enforcer }),
        toolApproval: hexgateToolApproval({ enforcer }),
        stopWhen: stepCountIs(3),
        prompt: 'x',
      }),
    );
    expect(ran).toEqual(['lookup_order A-1']);
    const [lookup, wipe] = toolResultsSent(model, 1);
    expect(JSON.stringify(lookup?.output)).toContain('order A-1 shipped');
    expect(wipe?.output.type).toBe('execution-denied');
    expect(wipe?.output.reason).toMatch(/^\[policy_denied\] Tool 'wipe_database'/);
    expect(enforcer.decisions.map((d) => `${d.decision.tool}:${d.decision.outcome}`)).toEqual([
      'lookup_order:allow',
      'wipe_database:deny',
    ]);
  });

  it('is gated by execute alone when no hook is passed', async () => {
    const { client, ran } = await connect();
    const enforcer = recordingEnforcer({ policy: testPolicy(allowLookup) });
    const model = scriptedModel(calls(call('c1', 'wipe_database', { confirm: true })), text('done'));
    await generateText({
      model,
      tools: hexgateTools(await client.tools(), { enforcer }),
      stopWhen: stepCountIs(3),
      prompt: 'x',
    });
    expect(ran).toEqual([]);
    expect(String(toolResultsSent(model, 1)[0]?.output.value)).toMatch(/^\[policy_denied\] Tool 'wipe_database'/);
  });

  it("follows the policy's default_policy for unmentioned tools when it says otherwise", async () => {
    const { client, ran } = await connect();
    const enforcer = recordingEnforcer({
      policy: testPolicy(`
        roles:
          default:
            default_policy: { mode: approval_required }
            tools:
              lookup_order: { mode: allow }
      `),
    });
    const model = scriptedModel(calls(call('c1', 'wipe_database', { confirm: true })), text('done'));
    const result = await generateText({
      model,
      tools: hexgateTools(await client.tools(), { enforcer }),
      toolApproval: hexgateToolApproval({ enforcer }),
      prompt: 'x',
    });
    expect(ran).toEqual([]);
    expect(result.content.filter((p) => p.type === 'tool-approval-request')).toHaveLength(1);
    expect(enforcer.approvals.map((a) => a.status)).toEqual(['requested']);
  });
});

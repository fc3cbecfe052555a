import { runWithUser } from '@hexgate/core';
import { Agent, handoff, type MCPServer, Runner, RunState, run } from '@openai/agents';
import { assistantMessage, functionCall, ScriptedModel } from '@openai/agents/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bea, enforcer, makeAgent, makeTools, sam, toolOutputSeenByModel, triageDesk } from './__fixtures__/kit.ts';
import { HexgateRunner, wrapOpenAIAgent } from './index.ts';

describe('handoffs', () => {
  it('a handoff to a forbidden agent is blocked: the same agent continues and sees the [policy_denied] text', async () => {
    const deskModel = new ScriptedModel([]);
    const triageModel = new ScriptedModel([
      [functionCall('transfer_to_billing_desk', {}, { callId: 'h1' })],
      [assistantMessage('I will handle it myself')],
    ]);
    const { triage } = triageDesk(triageModel, deskModel);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const result = await runner.run(triage, 'I need a wire', { user: sam });

    expect(result.lastAgent?.name).toBe('triage');
    expect(result.finalOutput).toBe('I will handle it myself');
    expect(deskModel.calls).toHaveLength(0);
    expect(toolOutputSeenByModel(triageModel, 'h1')).toMatch(/^\[policy_denied\] Tool 'transfer_to_billing_desk'/);
    expect(rec.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.decision.agentName])).toEqual([
      ['transfer_to_billing_desk', 'deny', 'triage'],
    ]);
  });

  it('an allowed handoff reaches the gated copy of the target agent, whose tools are gated too', async () => {
    const deskModel = new ScriptedModel([
      [functionCall('wire_transfer', { amount: 5000 }, { callId: 'w1' })],
      [assistantMessage('cannot wire that much')],
    ]);
    const triageModel = new ScriptedModel([[functionCall('transfer_to_billing_desk', {}, { callId: 'h1' })]]);
    const { triage, executions } = triageDesk(triageModel, deskModel);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const result = await runner.run(triage, 'wire 5000', { user: bea });

    expect(result.lastAgent?.name).toBe('billing_desk');
    expect(executions).toEqual([]);
    expect(toolOutputSeenByModel(deskModel, 'w1')).toMatch(/^\[policy_denied\].*args\.amount <= 1000/);
    expect(rec.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.decision.agentName])).toEqual([
      ['transfer_to_billing_desk', 'allow', 'triage'],
      ['wire_transfer', 'deny', 'billing_desk'],
    ]);
  });

  it("runs the application's onHandoff with the decided input", async () => {
    const seen: unknown[] = [];
    const target = new Agent({ name: 'billing_desk', model: new ScriptedModel([[assistantMessage('hi')]]) });
    const triageModel = new ScriptedModel([[functionCall('transfer_to_billing_desk', {}, { callId: 'h1' })]]);
    const triage = new Agent({
      name: 'triage',
      model: triageModel,
      handoffs: [handoff(target, { onHandoff: (ctx) => void seen.push(ctx.context) })],
    });
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });
    const result = await runner.run(triage, 'go', { user: bea });
    expect(result.finalOutput).toBe('hi');
    expect(seen).toEqual([{ user: bea }]); // the user also travels in the SDK's run context
  });
});

describe('agents used as tools', () => {
  function outer(innerModel: ScriptedModel, outerModel: ScriptedModel) {
    const tools = makeTools();
    const inner = new Agent({ name: 'billing_desk', model: innerModel, tools: [tools.wire] });
    const agent = new Agent({
      name: 'front',
      model: outerModel,
      tools: [inner.asTool({ toolName: 'ask_billing', toolDescription: 'Ask the billing desk' })],
    });
    return { ...tools, inner, agent };
  }

  it('the agent tool call itself is gated: denied, the inner agent never runs', async () => {
    const innerModel = new ScriptedModel([]);
    const outerModel = new ScriptedModel([
      [functionCall('ask_billing', { input: 'wire 10' }, { callId: 'a1' })],
      [assistantMessage('ok')],
    ]);
    const { agent } = outer(innerModel, outerModel);
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });
    await runner.run(agent, 'go', { user: sam });
    expect(innerModel.calls).toHaveLength(0);
    expect(toolOutputSeenByModel(outerModel, 'a1')).toMatch(/^\[policy_denied\] Tool 'ask_billing'/);
  });

  it('allowed, it runs the gated copy of the inner agent: the inner tools are decided too', async () => {
    const innerModel = new ScriptedModel([
      [functionCall('wire_transfer', { amount: 500 }, { callId: 'w-ok' })],
      [functionCall('wire_transfer', { amount: 5000 }, { callId: 'w-no' })],
      [assistantMessage('wired 500, refused 5000')],
    ]);
    const outerModel = new ScriptedModel([
      [functionCall('ask_billing', { input: 'wire 500 then 5000' }, { callId: 'a1' })],
      [assistantMessage('done')],
    ]);
    const { agent, executions } = outer(innerModel, outerModel);
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const result = await runner.run(agent, 'go', { user: bea });

    expect(result.finalOutput).toBe('done');
    expect(executions).toEqual([{ tool: 'wire_transfer', args: { amount: 500 }, user: 'bea' }]);
    expect(toolOutputSeenByModel(innerModel, 'w-no')).toMatch(/^\[policy_denied\]/);
    expect(toolOutputSeenByModel(outerModel, 'a1')).toBe('wired 500, refused 5000');
    expect(rec.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.decision.agentName])).toEqual([
      ['ask_billing', 'allow', 'front'],
      ['wire_transfer', 'allow', 'billing_desk'],
      ['wire_transfer', 'deny', 'billing_desk'],
    ]);
  });
  it('an approval inside the inner agent pauses the outer run and resumes from a serialised state', async () => {
    const innerModel = new ScriptedModel([
      [functionCall('refund', { order_id: 'A-1', amount: 70 }, { callId: 'r-in' })],
      [assistantMessage('refunded 70')],
    ]);
    const outerModel = new ScriptedModel([
      [functionCall('ask_billing', { input: 'refund 70' }, { callId: 'a1' })],
      [assistantMessage('done')],
    ]);
    const tools = makeTools();
    const inner = new Agent({ name: 'billing_desk', model: innerModel, tools: [tools.refund] });
    const agent = new Agent({ name: 'front', model: outerModel, tools: [inner.asTool({ toolName: 'ask_billing' })] });
    const rec = enforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });
    const trainee = { id: 'tia', roles: ['trainee'] };

    const paused = await runner.run(agent, 'go', { user: trainee });
    expect(paused.interruptions.map((i) => [i.name, i.agent.name])).toEqual([['refund', 'billing_desk']]);
    expect(tools.executions).toEqual([]);

    const restored = await RunState.fromString(agent, paused.state.toString());
    restored.approve(restored.getInterruptions()[0]!);
    const resumed = await runner.run(agent, restored, { user: trainee });

    expect(resumed.finalOutput).toBe('done');
    expect(tools.executions).toEqual([{ tool: 'refund', args: { order_id: 'A-1', amount: 70 }, user: 'tia' }]);
    expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'approved']);
  });

  it('keeps custom parameters of an agent tool: the inner agent gets the same input as without the gate', async () => {
    const inputs: unknown[] = [];
    for (const gated of [false, true]) {
      const innerModel = new ScriptedModel([[assistantMessage('noted')]]);
      const outerModel = new ScriptedModel([
        [functionCall('ask_billing', { question: 'why?', priority: 2 }, { callId: 'a1' })],
        [assistantMessage('done')],
      ]);
      const inner = new Agent({ name: 'billing_desk', model: innerModel });
      const parameters = z.object({ question: z.string(), priority: z.number() });
      const agent = new Agent({
        name: 'front',
        model: outerModel,
        tools: [inner.asTool({ toolName: 'ask_billing', parameters })],
      });
      const result = gated
        ? await new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true }).run(agent, 'go', { user: bea })
        : await new Runner({ tracingDisabled: true }).run(agent, 'go');
      expect(result.finalOutput).toBe('done');
      inputs.push(innerModel.calls[0]?.request.input);
    }
    expect(inputs[1]).toEqual(inputs[0]);
  });
});

describe('MCP server tools', () => {
  it('are gated like function tools', async () => {
    const called: unknown[] = [];
    const server: MCPServer = {
      name: 'orders-mcp',
      cacheToolsList: false,
      async connect() {},
      async close() {},
      async invalidateToolsCache() {},
      async listTools() {
        return [
          {
            name: 'refund',
            description: 'Refund (MCP)',
            inputSchema: {
              type: 'object',
              properties: { order_id: { type: 'string' }, amount: { type: 'number' } },
              required: ['order_id', 'amount'],
              additionalProperties: false,
            },
          },
        ];
      },
      async callTool(name, args) {
        called.push([name, args]);
        return [{ type: 'text', text: `mcp refunded ${args?.amount}` }];
      },
    };
    const model = new ScriptedModel([
      [
        functionCall('refund', { order_id: 'A-1', amount: 200 }, { callId: 'm-ok' }),
        functionCall('refund', { order_id: 'A-1', amount: 900 }, { callId: 'm-no' }),
      ],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'mcp-bot', model, mcpServers: [server] });
    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });

    await runner.run(agent, 'go', { user: bea });

    expect(called).toEqual([['refund', { order_id: 'A-1', amount: 200 }]]);
    expect(toolOutputSeenByModel(model, 'm-no')).toMatch(/^\[policy_denied\]/);
  });
});

describe('wrapOpenAIAgent (for applications that call the SDK themselves)', () => {
  it('gates with the user bound by runWithUser or carried in the run context', async () => {
    const script = () =>
      new ScriptedModel([
        [functionCall('refund', { order_id: 'A-1', amount: 300 }, { callId: 'r1' })],
        [assistantMessage('done')],
      ]);
    const tools = makeTools();
    const rec = enforcer();

    const viaScope = wrapOpenAIAgent(makeAgent(script(), tools).agent, { enforcer: rec });
    await runWithUser(bea, () => run(viaScope, 'refund 300'));

    const viaContext = wrapOpenAIAgent(makeAgent(script(), tools).agent, { enforcer: rec });
    await new Runner({ tracingDisabled: true }).run(viaContext, 'refund 300', { context: { user: sam } });

    expect(tools.executions.map((e) => e.user)).toEqual(['bea']);
    expect(rec.decisions.map((d) => [d.decision.userId, d.decision.outcome])).toEqual([
      ['bea', 'allow'],
      ['sam', 'deny'],
    ]);
  });

  it('rejects missing or conflicting options up front', () => {
    const { agent } = makeAgent(new ScriptedModel([]));
    expect(() => wrapOpenAIAgent(agent, {} as never)).toThrow(/policy.*or `enforcer` is required/);
    expect(() =>
      wrapOpenAIAgent(agent, { enforcer: enforcer(), policy: enforcer().currentPolicy()! } as never),
    ).toThrow(/either `policy` or `enforcer`/);
  });
});

describe('the application objects are left untouched', () => {
  it('agents, tool arrays and tool objects are the same before and after gating and running', async () => {
    const deskModel = new ScriptedModel([
      [functionCall('wire_transfer', { amount: 5000 }, { callId: 'w1' })],
      [assistantMessage('no')],
    ]);
    const triageModel = new ScriptedModel([
      [functionCall('get_order', { order_id: 'A-1' }, { callId: 'g1' })],
      [functionCall('transfer_to_billing_desk', {}, { callId: 'h1' })],
    ]);
    const { triage, billingDesk, getOrder, wire, executions } = triageDesk(triageModel, deskModel);
    const snapshot = (a: Agent<any, any>) => ({
      tools: a.tools,
      toolList: [...a.tools],
      fields: a.tools.map((t) => ({ ...t })),
      handoffs: a.handoffs,
      handoffList: [...a.handoffs],
      emit: a.emit,
    });
    const started: string[] = [];
    triage.on('agent_start', (_ctx, a) => void started.push(a.name));
    billingDesk.on('agent_start', (_ctx, a) => void started.push(a.name));
    const before = { triage: snapshot(triage), desk: snapshot(billingDesk) };

    const runner = new HexgateRunner({ enforcer: enforcer(), tracingDisabled: true });
    const gated = runner.gated(triage);
    await runner.run(triage, 'go', { user: bea });

    expect(gated).not.toBe(triage);
    expect(gated.tools[0]).not.toBe(getOrder);
    for (const [agent, was] of [
      [triage, before.triage],
      [billingDesk, before.desk],
    ] as const) {
      const now = snapshot(agent);
      expect(now.tools).toBe(was.tools);
      expect(now.toolList).toEqual(was.toolList);
      now.tools.forEach((t, i) => {
        expect(t).toBe(was.toolList[i]);
        expect({ ...t }).toEqual(was.fields[i]); // same invoke, needsApproval, every field
      });
      expect(now.handoffs).toBe(was.handoffs);
      expect(now.handoffList).toEqual(was.handoffList);
      expect(now.emit).toBe(was.emit);
    }
    expect(billingDesk.tools).toEqual([wire]);
    expect(started).toEqual(['triage', 'billing_desk']); // hooks registered on the originals still fire
    expect(executions.map((e) => e.tool)).toEqual(['get_order']);

    // The original agent still runs ungated when used directly with the SDK.
    const direct = new ScriptedModel([
      [functionCall('wire_transfer', { amount: 5000 }, { callId: 'w2' })],
      [assistantMessage('wired')],
    ]);
    await new Runner({ tracingDisabled: true }).run(billingDesk.clone({ model: direct }), 'wire');
    expect(executions.map((e) => e.tool)).toEqual(['get_order', 'wire_transfer']);
  });
});

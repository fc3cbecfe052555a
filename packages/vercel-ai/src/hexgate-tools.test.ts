import { InvalidOptionsError, runWithUser, type User } from '@hexgate/core';
import {
  generateText,
  readUIMessageStream,
  stepCountIs,
  streamText,
  tool,
  type UIMessage,
  validateUIMessages,
} from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { call, calls, received, scriptedModel, text, toolResultsSent } from './__fixtures__/scripted-model.ts';
import { supportDesk } from './__fixtures__/support-desk.ts';
import { hexgateModelMiddleware, hexgateToolApproval, hexgateTools } from './index.ts';

const support = { id: 'sam', roles: ['support'] };
const billing = { id: 'bea', roles: ['billing'] };

describe('options', () => {
  const { tools, enforcer } = supportDesk();
  const builders = {
    hexgateTools: (options: never) => hexgateTools(tools, options),
    hexgateToolApproval,
    hexgateModelMiddleware,
  };
  it.each(Object.entries(builders))('%s rejects bad options when it is built, not at the first call', (name, build) => {
    expect(() => build(undefined as never)).toThrow(`@hexgate/vercel-ai ${name}: pass { enforcer }`);
    const bad = [{}, { enforcer: {} }, { enforcer, contextUser: 'hexgateUser' }, { enforcer, approvals: {} }];
    for (const options of bad) expect(() => build(options as never)).toThrow(InvalidOptionsError);
    expect(() => build({ enforcer, approvals: new Map(), contextUser: () => undefined } as never)).not.toThrow();
  });
});

describe('hexgateTools', () => {
  it('returns a new tool set and leaves the input object and its tools untouched', () => {
    const { tools, enforcer } = supportDesk();
    const before = { ...tools };
    const executes = Object.values(tools).map((t) => t.execute);
    const gated = hexgateTools(tools, { enforcer });
    expect(gated).not.toBe(tools);
    expect(Object.keys(gated)).toEqual(Object.keys(tools));
    for (const name of Object.keys(tools) as (keyof typeof tools)[]) {
      expect(gated[name]).not.toBe(tools[name]);
      expect(tools[name]).toBe(before[name]);
      expect(tools[name].needsApproval).toBeUndefined();
      expect(gated[name].execute).not.toBe(tools[name].execute);
      expect(gated[name].description).toBe(tools[name].description);
    }
    expect(Object.values(tools).map((t) => t.execute)).toEqual(executes);
  });

  it('runs an allowed call with the frozen snapshot that was decided, and reports one decision', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const model = scriptedModel(calls(call('c1', 'get_order', { order_id: 'A-1' })), text('done'));
    const result = await runWithUser(billing, () =>
      generateText({
        model,
        tools: hexgateTools(tools, { enforcer }),
        toolApproval: hexgateToolApproval({ enforcer }),
        stopWhen: stepCountIs(5),
        prompt: 'where is A-1?',
      }),
    );
    expect(result.text).toBe('done');
    expect(executions).toEqual([{ tool: 'get_order', args: { order_id: 'A-1' }, frozen: true, userId: 'bea' }]);
    expect(toolResultsSent(model, 1)).toEqual([
      { toolCallId: 'c1', toolName: 'get_order', output: { type: 'text', value: 'order A-1: shipped' } },
    ]);
    expect(enforcer.decisions).toHaveLength(1);
    expect(enforcer.decisions[0]?.decision).toMatchObject({
      tool: 'get_order',
      outcome: 'allow',
      agentName: 'support-bot',
      userId: 'bea',
    });
  });

  it('deny via the hook: the tool never runs and the model gets the reason as the SDK denial', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const model = scriptedModel(calls(call('c1', 'delete_account', { account: 'acme' })), text('sorry'));
    const result = await runWithUser(support, () =>
      generateText({
        model,
        tools: hexgateTools(tools, { enforcer }),
        toolApproval: hexgateToolApproval({ enforcer }),
        stopWhen: stepCountIs(5),
        prompt: 'delete acme',
      }),
    );
    expect(executions).toEqual([]);
    const [sent] = toolResultsSent(model, 1);
    expect(sent?.output.type).toBe('execution-denied');
    expect(sent?.output.reason).toMatch(/^\[policy_denied\] Tool 'delete_account' is denied by the agent policy: /);
    expect(result.content.some((p) => p.type === 'tool-approval-response' && p.approved === false)).toBe(true);
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['deny']);
  });

  it('deny without the hook: the gated execute answers with the [policy_denied] text', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const model = scriptedModel(calls(call('c1', 'refund_order', { order_id: 'A-1', amount: 900 })), text('sorry'));
    await runWithUser(billing, () =>
      generateText({ model, tools: hexgateTools(tools, { enforcer }), stopWhen: stepCountIs(5), prompt: 'refund' }),
    );
    expect(executions).toEqual([]);
    const [sent] = toolResultsSent(model, 1);
    expect(sent?.output).toMatchObject({ type: 'text' });
    expect(String(sent?.output.value)).toMatch(/^\[policy_denied\] Tool 'refund_order' is denied/);
    expect(String(sent?.output.value)).toContain('The tool was not executed.');
    expect(enforcer.decisions).toHaveLength(1);
    expect(enforcer.decisions[0]?.decision.violations).toEqual(['args.amount <= 500']);
  });

  it("a refusal never goes through the tool's own output contract (toModelOutput, outputSchema)", async () => {
    // Before, the denial text was the tool's output: a toModelOutput that reads
    // its fields crashed the run, and validateUIMessages rejected the stored
    // conversation against outputSchema on every later request.
    const { enforcer } = supportDesk();
    const tools = hexgateTools(
      {
        delete_account: tool({
          inputSchema: z.object({ account: z.string() }),
          execute: async () => ({ rows: ['deleted'] }),
          toModelOutput: ({ output }) => ({ type: 'text', value: output.rows.join(', ') }),
        }),
        refund_order: tool({
          inputSchema: z.object({ order_id: z.string(), amount: z.number() }),
          outputSchema: z.object({ refunded: z.number() }),
          execute: async ({ amount }) => ({ refunded: amount }),
        }),
      },
      { enforcer },
    );
    const model = scriptedModel(
      calls(
        call('c1', 'delete_account', { account: 'acme' }),
        call('c2', 'refund_order', { order_id: 'A', amount: 900 }),
      ),
      text('sorry'),
    );
    const result = runWithUser(billing, () => streamText({ model, tools, stopWhen: stepCountIs(3), prompt: 'x' }));
    let reply: UIMessage | undefined;
    for await (const message of readUIMessageStream({ stream: result.toUIMessageStream() })) reply = message;
    expect(await result.text).toBe('sorry');
    const sent = toolResultsSent(model, 1);
    expect(sent.map((r) => r.output.type)).toEqual(['error-text', 'error-text']);
    for (const r of sent)
      expect(String(r.output.value)).toMatch(/^\[policy_denied\] Tool '\w+' is denied .*not executed\.$/);
    const user: UIMessage = { id: 'u', role: 'user', parts: [{ type: 'text', text: 'x' }] };
    await expect(validateUIMessages({ messages: [user, reply as UIMessage], tools })).resolves.toHaveLength(2);
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['deny', 'deny']);
  });

  it('multi-step: each call is decided on its own and the model sees every outcome', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const model = scriptedModel(
      calls(call('c1', 'get_order', { order_id: 'A-1' })),
      calls(
        call('c2', 'refund_order', { order_id: 'A-1', amount: 40 }),
        call('c3', 'delete_account', { account: 'x' }),
      ),
      calls(call('c4', 'refund_order', { order_id: 'A-1', amount: 4000 })),
      text('all done'),
    );
    const result = await runWithUser(billing, () =>
      generateText({
        model,
        tools: hexgateTools(tools, { enforcer }),
        toolApproval: hexgateToolApproval({ enforcer }),
        stopWhen: stepCountIs(6),
        prompt: 'help',
      }),
    );
    expect(result.text).toBe('all done');
    expect(result.steps).toHaveLength(4);
    expect(executions.map((e) => [e.tool, e.args])).toEqual([
      ['get_order', { order_id: 'A-1' }],
      ['refund_order', { order_id: 'A-1', amount: 40 }],
    ]);
    const last = toolResultsSent(model, 3);
    expect(last.map((r) => [r.toolCallId, r.output.type])).toEqual([
      ['c1', 'text'],
      ['c2', 'text'],
      ['c3', 'execution-denied'],
      ['c4', 'execution-denied'],
    ]);
    expect(enforcer.decisions.map((d) => `${d.decision.tool}:${d.decision.outcome}`)).toEqual([
      'get_order:allow',
      'refund_order:allow',
      'delete_account:deny',
      'refund_order:deny',
    ]);
  });

  it('keeps two concurrent users apart, even with the same tool call ids', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const gated = hexgateTools(tools, { enforcer });
    const toolApproval = hexgateToolApproval({ enforcer });
    const run = (user: { id: string; roles: string[] }) => {
      const model = scriptedModel(
        calls(call('c1', 'refund_order', { order_id: `O-${user.id}`, amount: 300 })),
        text('ok'),
      );
      return runWithUser(user, () =>
        generateText({ model, tools: gated, toolApproval, stopWhen: stepCountIs(3), prompt: 'refund' }),
      ).then((result) => ({ result, model }));
    };
    const [bea, sam] = await Promise.all([run(billing), run(support)]);
    expect(executions).toEqual([
      { tool: 'refund_order', args: { order_id: 'O-bea', amount: 300 }, frozen: true, userId: 'bea' },
    ]);
    expect(toolResultsSent(bea.model, 1)[0]?.output).toEqual({ type: 'text', value: 'refunded 300 on O-bea' });
    expect(toolResultsSent(sam.model, 1)[0]?.output.type).toBe('execution-denied');
    expect(enforcer.decisions.map((d) => `${d.decision.userId}:${d.decision.outcome}`).sort()).toEqual([
      'bea:allow',
      'sam:deny',
    ]);
  });

  it('shadow mode decides and reports but never blocks', async () => {
    const { tools, enforcer, executions } = supportDesk({ mode: 'shadow' });
    const model = scriptedModel(
      calls(
        call('c1', 'delete_account', { account: 'acme' }),
        call('c2', 'refund_order', { order_id: 'A', amount: 50 }),
      ),
      text('done'),
    );
    await runWithUser(support, () =>
      generateText({
        model,
        tools: hexgateTools(tools, { enforcer }),
        toolApproval: hexgateToolApproval({ enforcer }),
        stopWhen: stepCountIs(3),
        prompt: 'x',
      }),
    );
    expect(executions.map((e) => e.tool)).toEqual(['delete_account', 'refund_order']);
    expect(enforcer.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.decision.effective])).toEqual([
      ['delete_account', 'deny', 'allow'],
      ['refund_order', 'approval_required', 'allow'],
    ]);
    expect(enforcer.approvals).toEqual([]);
    expect(toolResultsSent(model, 1).map((r) => r.output.type)).toEqual(['text', 'text']);
  });

  it('accepts the user from the SDK context (runtimeContext for the hook, toolsContext for tools)', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const gated = hexgateTools(tools, { enforcer });
    const viaRuntime = scriptedModel(calls(call('c1', 'refund_order', { order_id: 'A', amount: 300 })), text('ok'));
    await generateText({
      model: viaRuntime,
      tools: gated,
      toolApproval: hexgateToolApproval({ enforcer }),
      runtimeContext: { hexgateUser: billing },
      stopWhen: stepCountIs(3),
      prompt: 'x',
    });
    // A tool that declares the user in its context schema gets it through toolsContext, hook or not.
    const refundWithContext = {
      refund_order: tool({
        inputSchema: z.object({ order_id: z.string(), amount: z.number() }),
        contextSchema: z.object({ hexgateUser: z.object({ id: z.string(), roles: z.array(z.string()) }) }),
        execute: (args, { context }) => `refunded ${args.amount} for ${context.hexgateUser.id}`,
      }),
    };
    const viaTools = scriptedModel(calls(call('c1', 'refund_order', { order_id: 'B', amount: 301 })), text('ok'));
    await generateText({
      model: viaTools,
      tools: hexgateTools(refundWithContext, { enforcer }),
      toolsContext: { refund_order: { hexgateUser: billing } },
      stopWhen: stepCountIs(3),
      prompt: 'x',
    });
    expect(toolResultsSent(viaTools, 1)[0]?.output).toEqual({ type: 'text', value: 'refunded 301 for bea' });
    const anonymous = scriptedModel(calls(call('c1', 'refund_order', { order_id: 'C', amount: 1 })), text('ok'));
    await generateText({ model: anonymous, tools: gated, stopWhen: stepCountIs(3), prompt: 'x' });
    expect(executions.map((e) => e.args)).toEqual([{ order_id: 'A', amount: 300 }]);
    expect(enforcer.decisions.map((d) => `${d.decision.userId}:${d.decision.outcome}`)).toEqual([
      'bea:allow',
      'bea:allow',
      'undefined:deny',
    ]);
  });

  it('a contextUser that throws denies the call instead of ending the run', async () => {
    // Before, the throw escaped the approval hook (and the gated needsApproval)
    // and generateText rejected.
    const { tools, enforcer, executions } = supportDesk();
    const options = {
      enforcer,
      contextUser: (context: unknown) => (context as { session: { user: User } }).session.user,
    };
    for (const toolApproval of [hexgateToolApproval(options), undefined]) {
      const model = scriptedModel(calls(call('c1', 'get_order', { order_id: 'A-1' })), text('sorry'));
      const result = await runWithUser(billing, () =>
        generateText({
          model,
          tools: hexgateTools(tools, options),
          ...(toolApproval ? { toolApproval } : {}),
          runtimeContext: {},
          toolsContext: { get_order: {} } as never, // the tools declare no context schema
          stopWhen: stepCountIs(3),
          prompt: 'x',
        }),
      );
      expect(result.text).toBe('sorry');
      const [sent] = toolResultsSent(model, 1);
      expect(JSON.stringify(sent?.output)).toMatch(/\[policy_denied\] .*could not be read from the SDK context/);
    }
    expect(executions).toEqual([]);
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['deny', 'deny']);
  });

  it('keeps a streaming tool streaming through the gate', async () => {
    const { enforcer } = supportDesk();
    const tools = {
      get_order: tool({
        inputSchema: z.object({ order_id: z.string() }),
        async *execute({ order_id }) {
          yield `looking up ${order_id}`;
          yield `order ${order_id}: shipped`;
        },
      }),
    };
    const model = scriptedModel(calls(call('c1', 'get_order', { order_id: 'A-1' })), text('ok'));
    await generateText({ model, tools: hexgateTools(tools, { enforcer }), stopWhen: stepCountIs(3), prompt: 'x' });
    expect(toolResultsSent(model, 1)[0]?.output).toEqual({ type: 'text', value: 'order A-1: shipped' });
  });

  it('decides client-side tools (no execute) in the hook', async () => {
    const { enforcer } = supportDesk();
    const tools = hexgateTools(
      {
        get_order: tool({ inputSchema: z.object({ order_id: z.string() }) }),
        delete_account: tool({ inputSchema: z.object({ account: z.string() }) }),
      },
      { enforcer },
    );
    const model = scriptedModel(
      calls(call('c1', 'get_order', { order_id: 'A' }), call('c2', 'delete_account', { account: 'acme' })),
    );
    const result = await runWithUser(support, () =>
      generateText({ model, tools, toolApproval: hexgateToolApproval({ enforcer }), prompt: 'x' }),
    );
    // get_order is left to the client; delete_account is refused before it gets there.
    expect(result.toolCalls.map((c) => c.toolName)).toEqual(['get_order', 'delete_account']);
    const responses = result.content.filter((p) => p.type === 'tool-approval-response');
    expect(responses).toMatchObject([{ approved: false, toolCall: { toolName: 'delete_account' } }]);
    expect(received(model)).toHaveLength(1);
  });
});

import { runWithUser } from '@hexgate/core';
import { generateText, type ModelMessage, stepCountIs, ToolLoopAgent, wrapLanguageModel } from 'ai';
import { describe, expect, it } from 'vitest';
import { call, calls, received, scriptedModel, text, toolResultsSent } from './__fixtures__/scripted-model.ts';
import { supportDesk } from './__fixtures__/support-desk.ts';
import { hexgateModelMiddleware, hexgateToolApproval, hexgateTools } from './index.ts';

const toolNames = (model: ReturnType<typeof scriptedModel>, index: number) =>
  (received(model)[index]?.tools ?? []).map((t) => t.name).sort();

describe('hexgateModelMiddleware', () => {
  it('hides the tools the user in scope can never call, per call, with an agent built once', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const mock = scriptedModel(
      calls(call('c1', 'delete_account', { account: 'acme' })), // the model calls a hidden tool anyway
      text('cannot'),
      text('hello'),
    );
    const agent = new ToolLoopAgent({
      model: wrapLanguageModel({ model: mock, middleware: hexgateModelMiddleware({ enforcer }) }),
      tools: hexgateTools(tools, { enforcer }),
      toolApproval: hexgateToolApproval({ enforcer }),
      stopWhen: stepCountIs(3),
    });
    await runWithUser({ id: 'sam', roles: ['support'] }, () => agent.generate({ prompt: 'delete acme' }));
    await runWithUser({ id: 'guest' }, () => agent.generate({ prompt: 'hi' }));

    expect(toolNames(mock, 0)).toEqual(['get_order', 'refund_order']);
    expect(toolNames(mock, 2)).toEqual(['get_order']);
    // Hiding is a courtesy: the hidden tool was still decided and refused.
    expect(executions).toEqual([]);
    expect(toolResultsSent(mock, 1)[0]?.output.type).toBe('execution-denied');
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['deny']);
  });

  it('shows every tool with hideTools: false', async () => {
    const { tools, enforcer } = supportDesk();
    const mock = scriptedModel(text('hi'));
    const model = wrapLanguageModel({
      model: mock,
      middleware: hexgateModelMiddleware({ enforcer, hideTools: false }),
    });
    await runWithUser({ id: 'guest' }, () =>
      generateText({ model, tools: hexgateTools(tools, { enforcer }), prompt: 'x' }),
    );
    expect(toolNames(mock, 0)).toEqual(['delete_account', 'get_order', 'refund_order']);
  });

  it('reports an approval the user refused', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const mock = scriptedModel(
      calls(call('c1', 'refund_order', { order_id: 'A-1', amount: 60 })),
      text('ok, not refunded'),
      text('anything else?'),
    );
    const settings = {
      model: wrapLanguageModel({ model: mock, middleware: hexgateModelMiddleware({ enforcer }) }),
      tools: hexgateTools(tools, { enforcer }),
      toolApproval: hexgateToolApproval({ enforcer }),
      stopWhen: stepCountIs(3),
    };
    const prompt: ModelMessage = { role: 'user', content: 'refund A-1' };
    const sam = { id: 'sam', roles: ['support'] };
    const first = await runWithUser(sam, () => generateText({ ...settings, messages: [prompt] }));
    const request = first.content.find((p) => p.type === 'tool-approval-request');
    expect(request).toBeDefined();
    // What convertToModelMessages sends when useChat answers "no".
    const messages: ModelMessage[] = [
      prompt,
      ...first.response.messages,
      {
        role: 'tool',
        content: [
          {
            type: 'tool-approval-response',
            approvalId: request?.approvalId ?? '',
            approved: false,
            reason: 'too much',
          },
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'refund_order',
            output: { type: 'execution-denied', reason: 'too much' },
          },
        ],
      },
    ];
    const second = await runWithUser(sam, () => generateText({ ...settings, messages }));
    expect(executions).toEqual([]);
    expect(enforcer.approvals.map((a) => [a.status, a.reason])).toEqual([
      ['requested', undefined],
      ['rejected', 'too much'],
    ]);
    // Reported once, however often the history is sent again.
    await runWithUser(sam, () =>
      generateText({
        ...settings,
        messages: [...messages, ...second.response.messages, { role: 'user', content: 'ok' }],
      }),
    );
    expect(enforcer.approvals).toHaveLength(2);
  });
});

/**
 * The chat UI path: the same `AbstractChat` that `useChat` (@ai-sdk/react)
 * is built on, talking to a ToolLoopAgent through the SDK's in-process
 * `DirectChatTransport`. Approvals are rendered and answered with the SDK's
 * own tool parts and `addToolApprovalResponse`; nothing hexgate-specific.
 */
import { runWithUser, type User } from '@hexgate/core';
import {
  AbstractChat,
  type ChatInit,
  type ChatState,
  type ChatTransport,
  DirectChatTransport,
  isToolUIPart,
  stepCountIs,
  ToolLoopAgent,
  tool,
  type UIMessage,
  wrapLanguageModel,
} from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { call, calls, scriptedModel, text, toolResultsSent } from './__fixtures__/scripted-model.ts';
import { supportDesk } from './__fixtures__/support-desk.ts';
import { hexgateModelMiddleware, hexgateToolApproval, hexgateTools } from './index.ts';

type ChatCallbacks = Pick<ChatInit<UIMessage>, 'onToolCall' | 'onFinish'>;

class TestChat extends AbstractChat<UIMessage> {
  constructor(transport: ChatTransport<UIMessage>, callbacks: ChatCallbacks = {}) {
    const state: ChatState<UIMessage> = {
      status: 'ready',
      error: undefined,
      messages: [],
      pushMessage: (m) => state.messages.push(m),
      popMessage: () => state.messages.pop(),
      replaceMessage: (i, m) => {
        state.messages[i] = m;
      },
      snapshot: (thing) => structuredClone(thing),
    };
    super({ transport, state, ...callbacks });
  }
}

type ToolPart = {
  type: string;
  state: string;
  output?: unknown;
  errorText?: string;
  approval?: { id: string; reason?: string };
};
const toolParts = (chat: TestChat) =>
  chat.messages
    .flatMap((m) => m.parts)
    .filter((p): p is ToolPart & UIMessage['parts'][number] => p.type.startsWith('tool-'));

function setup(...turns: Parameters<typeof scriptedModel>) {
  const desk = supportDesk();
  const { enforcer } = desk;
  const agent = new ToolLoopAgent({
    model: wrapLanguageModel({ model: scriptedModel(...turns), middleware: hexgateModelMiddleware({ enforcer }) }),
    tools: hexgateTools(desk.tools, { enforcer }),
    toolApproval: hexgateToolApproval({ enforcer }),
    stopWhen: stepCountIs(4),
  });
  return { ...desk, chat: new TestChat(new DirectChatTransport({ agent }) as unknown as ChatTransport<UIMessage>) };
}

const sam: User = { id: 'sam', roles: ['support'] };

describe('useChat (AbstractChat + DirectChatTransport)', () => {
  it('renders approval_required as an approval request; approving runs the tool once', async () => {
    const { chat, executions, enforcer } = setup(
      calls(call('c1', 'refund_order', { order_id: 'A-1', amount: 60 })),
      text('refunded'),
    );
    await runWithUser(sam, () => chat.sendMessage({ text: 'refund A-1' }));
    const [asked] = toolParts(chat);
    expect(asked).toMatchObject({
      type: 'tool-refund_order',
      state: 'approval-requested',
      approval: { requestReason: "role 'support' needs human approval to call 'refund_order'" },
    });
    expect(executions).toEqual([]);

    await chat.addToolApprovalResponse({ id: asked?.approval?.id ?? '', approved: true });
    await runWithUser(sam, () => chat.sendMessage());
    expect(toolParts(chat)).toMatchObject([{ state: 'output-available', output: 'refunded 60 on A-1' }]);
    expect(executions).toHaveLength(1);
    expect(chat.lastMessage?.parts.at(-1)).toMatchObject({ type: 'text', text: 'refunded' });
    expect(enforcer.approvals.map((a) => a.status)).toEqual(['requested', 'approved']);
  });

  it('shows a policy denial as a denied tool part with the reason', async () => {
    const { chat, executions } = setup(calls(call('c1', 'delete_account', { account: 'acme' })), text('cannot'));
    await runWithUser(sam, () => chat.sendMessage({ text: 'delete acme' }));
    expect(executions).toEqual([]);
    expect(toolParts(chat)).toMatchObject([
      {
        type: 'tool-delete_account',
        state: 'output-denied',
        approval: { reason: expect.stringMatching(/^\[policy_denied\]/) },
      },
    ]);
  });

  it('a refusal in the chat never runs the tool and is reported', async () => {
    const { chat, executions, enforcer } = setup(
      calls(call('c1', 'refund_order', { order_id: 'A-1', amount: 60 })),
      text('ok, no refund'),
    );
    await runWithUser(sam, () => chat.sendMessage({ text: 'refund A-1' }));
    const [asked] = toolParts(chat);
    await chat.addToolApprovalResponse({ id: asked?.approval?.id ?? '', approved: false, reason: 'not today' });
    await runWithUser(sam, () => chat.sendMessage());
    expect(executions).toEqual([]);
    expect(toolParts(chat)).toMatchObject([{ state: 'output-denied' }]);
    expect(enforcer.approvals.map((a) => [a.status, a.reason])).toEqual([
      ['requested', undefined],
      ['rejected', 'not today'],
    ]);
  });

  it('client-side tools: onToolCall fires before the policy answers; run them from the finished message', async () => {
    // The SDK streams a call to the client before it asks the approval hook,
    // so useChat's onToolCall sees the denied delete_account too: running
    // client tools there would ignore the policy. Once the response is over,
    // a denied call is 'output-denied' and only the allowed one is still
    // 'input-available'.
    const { enforcer } = supportDesk();
    const clientTools = {
      get_order: tool({ inputSchema: z.object({ order_id: z.string() }) }),
      delete_account: tool({ inputSchema: z.object({ account: z.string() }) }),
    };
    const model = scriptedModel(
      calls(call('c1', 'get_order', { order_id: 'A-1' }), call('c2', 'delete_account', { account: 'acme' })),
      text('A-1 is shipped'),
    );
    const agent = new ToolLoopAgent({
      model,
      tools: hexgateTools(clientTools, { enforcer }),
      toolApproval: hexgateToolApproval({ enforcer }),
      stopWhen: stepCountIs(4),
    });
    const offered: string[] = [];
    let finished: UIMessage | undefined;
    const chat = new TestChat(new DirectChatTransport({ agent }) as unknown as ChatTransport<UIMessage>, {
      onToolCall: ({ toolCall }) => {
        offered.push(toolCall.toolName);
      },
      onFinish: ({ message }) => {
        finished = message;
      },
    });
    await runWithUser(sam, () => chat.sendMessage({ text: 'look up A-1, then delete acme' }));
    expect(offered).toEqual(['get_order', 'delete_account']);

    const ran: string[] = [];
    for (const part of finished?.parts ?? []) {
      if (!isToolUIPart(part) || part.state !== 'input-available') continue;
      ran.push(part.type);
      await chat.addToolOutput({ tool: 'get_order', toolCallId: part.toolCallId, output: 'shipped' });
    }
    expect(ran).toEqual(['tool-get_order']);
    await runWithUser(sam, () => chat.sendMessage());
    // useChat sends the denied part back as an error result carrying the policy's reason.
    expect(toolResultsSent(model, 1).map((r) => [r.toolName, r.output.type, String(r.output.value)])).toEqual([
      ['get_order', 'text', 'shipped'],
      ['delete_account', 'error-text', expect.stringMatching(/^\[policy_denied\] Tool 'delete_account'/)],
    ]);
    expect(enforcer.decisions.map((d) => `${d.decision.tool}:${d.decision.outcome}`)).toEqual([
      'get_order:allow',
      'delete_account:deny',
    ]);
  });
});

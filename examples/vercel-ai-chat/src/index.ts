/**
 * vercel-ai-chat: Sam, a support agent (role `support`), chats with an AI SDK
 * agent. Looking up an order is allowed, a refund needs a human approval, a
 * large refund is denied, and wire transfers are hidden and denied.
 *
 * The chat runs on `AbstractChat` + `DirectChatTransport`, the machinery
 * `useChat` is built on, so approvals travel exactly as in a browser: an
 * approval-requested tool part, answered with `addToolApprovalResponse`.
 *
 *   pnpm -F @examples/vercel-ai-chat start          # offline, scripted model
 *   OPENAI_API_KEY=... pnpm -F @examples/vercel-ai-chat start   # real model, if @ai-sdk/openai is installed
 */
import { fileURLToPath } from 'node:url';
import { createEnforcer, runWithUser, type User } from '@hexgate/core';
import {
  AbstractChat,
  type ChatState,
  type ChatTransport,
  DirectChatTransport,
  type UIMessage,
  wrapLanguageModel,
} from 'ai';
import { offlineModel } from './offline-model.ts';
import { type ChatModel, loadSupportPolicy, supportAgent } from './support-agent.ts';

export interface MainOptions {
  /** Where each line goes (default: console.log). */
  readonly log?: (line: string) => void;
  /** The human approver (default: approves, as if Sam's lead clicked "Approve"). */
  readonly approve?: (tool: string, input: unknown) => boolean | Promise<boolean>;
  /** Use a real model; default offline unless OPENAI_API_KEY is set and @ai-sdk/openai is installed. */
  readonly model?: ChatModel;
  readonly user?: User;
  readonly messages?: readonly string[];
}

const defaultMessages = [
  'Where is my order PUBLIC-7?',
  'Please refund 80 USD on PUBLIC-7.',
  'Actually, refund 250 USD on PUBLIC-7.',
  'Then wire 5000 EUR to my account.',
];

class ConsoleChat extends AbstractChat<UIMessage> {
  constructor(transport: ChatTransport<UIMessage>) {
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
    super({ transport, state });
  }
}

type ToolPart = { type: string; state: string; input?: unknown; approval?: { id: string } };

/** The real model when a key and a provider package are both present; otherwise undefined. */
async function realModel(log: (line: string) => void): Promise<MainOptions['model']> {
  if (!process.env.OPENAI_API_KEY) return undefined;
  const provider = '@ai-sdk/openai'; // not a dependency: install it to use a real model
  try {
    const { openai } = (await import(provider)) as { openai: (id: string) => MainOptions['model'] };
    return openai(process.env.OPENAI_MODEL ?? 'gpt-4o-mini');
  } catch {
    log(
      `OPENAI_API_KEY is set but ${provider} is not installed (pnpm -F @examples/vercel-ai-chat add ${provider}); running offline.`,
    );
    return undefined;
  }
}

export async function main(options: MainOptions = {}): Promise<string[]> {
  const lines: string[] = [];
  const log = (line: string) => {
    lines.push(line);
    (options.log ?? console.log)(line);
  };
  const approve = options.approve ?? (() => true);
  const user = options.user ?? { id: 'sam', roles: ['support'] };
  const enforcer = createEnforcer({
    policy: loadSupportPolicy(),
    agentName: 'support-agent',
    onDecision: ({ decision, args }) => {
      const why = decision.outcome === 'allow' ? '' : ` (${decision.reason})`;
      log(`  tool ${decision.tool} ${JSON.stringify(args ?? null)} -> ${decision.outcome}${why}`);
    },
    onApproval: ({ status, decision, reason }) =>
      log(`  approval ${status} for ${decision.tool}${reason ? `: ${reason}` : ''}`),
  });
  const model = options.model ?? (await realModel(log)) ?? offlineModel();
  // Shows what the model is offered, after hexgate hid what the user can never call.
  let offered = '';
  const observed = wrapLanguageModel({
    model,
    middleware: {
      transformParams: async ({ params }) => {
        const names = (params.tools ?? []).map((t) => t.name).join(', ');
        if (names !== offered) log(`  (model is offered: ${names || 'no tools'})`);
        offered = names;
        return params;
      },
    },
  });
  const chat = new ConsoleChat(
    new DirectChatTransport({ agent: supportAgent(observed, enforcer) }) as unknown as ChatTransport<UIMessage>,
  );
  const printed = new Map<string, number>();
  const printReplies = () => {
    for (const message of chat.messages.filter((m) => m.role === 'assistant')) {
      const texts = message.parts.filter((p) => p.type === 'text').map((p) => p.text);
      for (const text of texts.slice(printed.get(message.id) ?? 0)) log(`  agent > ${text}`);
      printed.set(message.id, texts.length);
    }
  };
  log(`model: ${model.modelId}; user: ${user.id} (${user.roles?.join(', ') || 'default'})`);
  for (const text of options.messages ?? defaultMessages) {
    log(`${user.id} > ${text}`);
    await runWithUser(user, () => chat.sendMessage({ text }));
    // Answer approval requests the way a chat UI does, then continue the run.
    for (;;) {
      const pending = (chat.lastMessage?.parts ?? []).filter(
        (p): p is UIMessage['parts'][number] & ToolPart =>
          p.type.startsWith('tool-') && (p as ToolPart).state === 'approval-requested',
      );
      if (pending.length === 0) break;
      for (const part of pending) {
        const tool = part.type.slice('tool-'.length);
        const approved = (await approve(tool, part.input)) === true;
        log(`  approver: ${approved ? 'approve' : 'reject'} ${tool} ${JSON.stringify(part.input)}`);
        await chat.addToolApprovalResponse({
          id: part.approval?.id ?? '',
          approved,
          ...(approved ? {} : { reason: 'rejected by the approver' }),
        });
      }
      await runWithUser(user, () => chat.sendMessage());
    }
    if (chat.error) log(`  error: ${chat.error.message}`);
    printReplies();
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main();
}

/**
 * Test support for tracing: a support desk whose calls cover every outcome
 * in one model turn (allowed, denied, approval required), with secrets in
 * the arguments, run through `traceHexgateRun` with generateText or streamText.
 */
import type { User } from '@hexgate/core';
import { type RecordingEnforcer, recordingEnforcer, testPolicy } from '@hexgate/core/testing';
import { generateText, type LanguageModel, type ModelMessage, stepCountIs, streamText, type ToolSet, tool } from 'ai';
import { z } from 'zod';
import { hexgateToolApproval, hexgateTools, traceHexgateRun } from '../index.ts';
import { call, calls, scriptedModel, text } from './scripted-model.ts';

export const SECRET_ALLOWED = 'hunter2-allowed';
export const SECRET_DENIED = 'hunter2-denied';

export const policy = testPolicy(`
  roles:
    default:
      tools:
        get_order: { mode: allow }
    support:
      inherits: [default]
      tools:
        connect_db: { mode: allow }
        refund_order:
          mode: approval_required
          constraints:
            - args.amount <= 100
`);

export const alice: User = { id: 'alice', roles: ['support'], sessionId: 'sess-alice' };
export const bob: User = { id: 'bob', roles: ['support'], sessionId: 'sess-bob' };

export const prompt: ModelMessage = { role: 'user', content: 'help with order A-1' };

/** The first model turn: one call per outcome. */
export const mixedTurn = calls(
  call('c1', 'get_order', { order_id: 'A-1' }),
  call('c2', 'connect_db', { host: 'db.internal', password: SECRET_ALLOWED }),
  call('c3', 'delete_account', { account: 'acme', password: SECRET_DENIED }),
  call('c4', 'refund_order', { order_id: 'A-1', amount: 60 }),
);

export function tracedDesk(options: { mode?: 'enforce' | 'shadow' } = {}) {
  const executions: string[] = [];
  const tools: ToolSet = {
    get_order: tool({
      inputSchema: z.object({ order_id: z.string() }),
      execute: async ({ order_id }) => {
        executions.push('get_order');
        return `order ${order_id}: shipped`;
      },
    }),
    connect_db: tool({
      inputSchema: z.object({ host: z.string(), password: z.string() }),
      execute: async ({ host }) => {
        executions.push('connect_db');
        return `connected to ${host}`;
      },
    }),
    delete_account: tool({
      inputSchema: z.object({ account: z.string(), password: z.string() }),
      execute: async () => {
        executions.push('delete_account');
        return 'deleted';
      },
    }),
    refund_order: tool({
      inputSchema: z.object({ order_id: z.string(), amount: z.number() }),
      execute: async ({ amount }) => {
        executions.push('refund_order');
        return `refunded ${amount}`;
      },
    }),
  };
  const enforcer: RecordingEnforcer = recordingEnforcer({ policy, agentName: 'support-bot', ...options });
  const gated = { enforcer };
  return {
    enforcer,
    executions,
    settings: { tools: hexgateTools(tools, gated), toolApproval: hexgateToolApproval(gated) },
  };
}

export type Kind = 'generate' | 'stream';

/** What a run gives back, the same for generateText and streamText. */
export interface TurnResult {
  readonly content: readonly { readonly type: string }[];
  readonly messages: ModelMessage[];
  readonly text: string;
}

/**
 * One chat turn as an app writes it: `traceHexgateRun` around the SDK call,
 * the stream read only after the wrapper returned.
 */
export async function tracedTurn(
  kind: Kind,
  desk: ReturnType<typeof tracedDesk>,
  model: LanguageModel,
  messages: ModelMessage[],
): Promise<TurnResult> {
  const options = { model, ...desk.settings, messages, stopWhen: stepCountIs(4) };
  if (kind === 'generate') {
    const r = await traceHexgateRun({ enforcer: desk.enforcer }, () => generateText(options));
    return { content: r.content, messages: r.response.messages, text: r.text };
  }
  // onError: failures reach the test through the result; keep the SDK from logging them.
  const r = traceHexgateRun({ enforcer: desk.enforcer }, () => streamText({ ...options, onError: () => {} }));
  return { content: await r.content, messages: (await r.response).messages, text: await r.text };
}

/** The history that answers the approval request of `first`. */
export function answerApproval(first: TurnResult, approved: boolean, reason?: string): ModelMessage[] {
  // The request a human answers (a policy denial is an automatic, already answered one).
  const request = first.content.find(
    (p) => p.type === 'tool-approval-request' && !(p as { isAutomatic?: boolean }).isAutomatic,
  ) as { approvalId: string } | undefined;
  if (!request) throw new Error('no approval request');
  return [
    prompt,
    ...first.messages,
    {
      role: 'tool',
      content: [
        { type: 'tool-approval-response', approvalId: request.approvalId, approved, ...(reason ? { reason } : {}) },
      ],
    },
  ];
}

export { call, calls, scriptedModel, text };

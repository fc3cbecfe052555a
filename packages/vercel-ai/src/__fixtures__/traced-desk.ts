/**
 * Test support for tracing: a support desk whose calls cover every outcome
 * in one model turn (allowed, denied, approval required), with secrets in
 * the arguments, run through `traceHexgateRun` with generateText or streamText.
 */
import type { User } from '@hexgate/core';
import { type LanguageModel, type ModelMessage, type ToolSet, tool } from 'ai';
import { z } from 'zod';
import { hexgateToolApproval, hexgateTools, traceHexgateRun } from '../index.ts';
import { type Kind, runTurn, type TurnResult } from './chat-turn.ts';
import { call, calls } from './scripted-model.ts';
import { type DeskOptions, deskEnforcer } from './support-desk.ts';

export const SECRET_ALLOWED = 'hunter2-allowed';
export const SECRET_DENIED = 'hunter2-denied';

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

export function tracedDesk(options: DeskOptions = {}) {
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
  const enforcer = deskEnforcer(options);
  const gated = { enforcer };
  return {
    enforcer,
    executions,
    settings: { tools: hexgateTools(tools, gated), toolApproval: hexgateToolApproval(gated) },
  };
}

/** One chat turn as an app writes it: `traceHexgateRun` around the SDK call. */
export function tracedTurn(
  kind: Kind,
  desk: ReturnType<typeof tracedDesk>,
  model: LanguageModel,
  messages: ModelMessage[],
): Promise<TurnResult> {
  return runTurn(kind, { model, ...desk.settings }, messages, (sdkCall) =>
    traceHexgateRun({ enforcer: desk.enforcer }, sdkCall),
  );
}

// Shared fixtures for this package's tests: real SDK tools and agents, a test policy, model-input helpers.
import { tryGetUser } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { Agent, type Model, setTracingDisabled, tool } from '@openai/agents';
import { assistantMessage, functionCall, modelResponder, ScriptedModel } from '@openai/agents/testing';
import { z } from 'zod';

setTracingDisabled(true);

export const POLICY = `
roles:
  default:
    tools:
      get_order: { mode: allow }
      refund:
        mode: approval_required
        constraints:
          - args.amount <= 100
  support:
    inherits: [default]
  trainee:
    inherits: [default]
    tools:
      ask_billing: { mode: allow }
  billing:
    inherits: [default]
    tools:
      refund:
        mode: allow
        constraints:
          - args.amount <= 500
      reset_password: { mode: allow }
      transfer_to_billing_desk: { mode: allow }
      ask_billing: { mode: allow }
      wire_transfer:
        mode: allow
        constraints:
          - args.amount <= 1000
`;

export const sam = { id: 'sam', roles: ['support'], sessionId: 'sess-sam' };
export const bea = { id: 'bea', roles: ['billing'], sessionId: 'sess-bea' };

export interface Execution {
  readonly tool: string;
  readonly args: unknown;
  readonly user: string | undefined;
}

/** Real SDK tools that record every execution (and the user in scope when they ran). */
export function makeTools() {
  const executions: Execution[] = [];
  const record = (name: string, args: unknown) => executions.push({ tool: name, args, user: tryGetUser()?.id });
  const getOrder = tool({
    name: 'get_order',
    description: 'Look up an order',
    parameters: z.object({ order_id: z.string() }),
    execute: async (args) => {
      record('get_order', args);
      return `order ${args.order_id}: 2 items, shipped`;
    },
  });
  const refund = tool({
    name: 'refund',
    description: 'Refund an order',
    parameters: z.object({ order_id: z.string(), amount: z.number() }),
    execute: async (args) => {
      record('refund', args);
      return `refunded ${args.amount} on ${args.order_id}`;
    },
  });
  const wire = tool({
    name: 'wire_transfer',
    description: 'Wire money',
    parameters: z.object({ amount: z.number() }),
    execute: async (args) => {
      record('wire_transfer', args);
      return `wired ${args.amount}`;
    },
  });
  // Its `password` argument must never reach a trace; the execution records the account only.
  const resetPassword = tool({
    name: 'reset_password',
    description: "Set a customer's password",
    parameters: z.object({ account: z.string(), password: z.string() }),
    execute: async ({ account }) => {
      record('reset_password', { account });
      return `password of ${account} reset`;
    },
  });
  return { executions, getOrder, refund, wire, resetPassword };
}

export function makeAgent(model: Model, tools = makeTools()) {
  const agent = new Agent({
    name: 'support-bot',
    instructions: 'Help customers.',
    model,
    tools: [tools.getOrder, tools.refund],
  });
  return { agent, ...tools };
}

/** A triage agent that can hand off to a billing desk (which has `wire_transfer`). */
export function triageDesk(triageModel: Model, deskModel: Model) {
  const tools = makeTools();
  const billingDesk = new Agent({ name: 'billing_desk', model: deskModel, tools: [tools.wire] });
  const triage = new Agent({ name: 'triage', model: triageModel, tools: [tools.getOrder], handoffs: [billingDesk] });
  return { ...tools, triage, billingDesk };
}

export function enforcer() {
  return recordingEnforcer({ policy: POLICY });
}

/**
 * A model for two runs at once, each started with a different user message. It answers every request from
 * the request itself, so interleaving does not matter: first the call `callFor(message)` (call id
 * `call-<message>`), then, once that call's result is in, the reply `result: <the output as JSON>`.
 */
export function concurrentModel(callFor: (message: string) => [tool: string, args: Record<string, unknown>]) {
  const respond = modelResponder(({ request }) => {
    const input = request.input as Array<Record<string, any>>;
    const done = input.find((i) => i.type === 'function_call_result');
    if (done) return [assistantMessage(`result: ${JSON.stringify(done.output)}`)];
    const message = String(input.find((i) => i.role === 'user')?.content);
    const [name, args] = callFor(message);
    return [functionCall(name, args, { callId: `call-${message}` })];
  });
  return new ScriptedModel([respond, respond, respond, respond]);
}

/** What the model received as the output of call `callId` (looked up in every later request). */
export function toolOutputSeenByModel(model: ScriptedModel, callId: string): string | undefined {
  for (const call of model.calls) {
    const input = call.request.input;
    if (!Array.isArray(input)) continue;
    for (const item of input as Array<Record<string, any>>) {
      if (item.type === 'function_call_result' && item.callId === callId) {
        const out = item.output;
        return typeof out === 'string' ? out : (out?.text ?? JSON.stringify(out));
      }
    }
  }
  return undefined;
}

// Shared fixtures for this package's tests: real SDK tools and agents, a test policy, model-input helpers.
import { tryGetUser } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { Agent, type Model, setTracingDisabled, tool } from '@openai/agents';
import type { ScriptedModel } from '@openai/agents/testing';
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
      transfer_to_billing_desk: { mode: allow }
      ask_billing: { mode: allow }
      wire_transfer:
        mode: allow
        constraints:
          - args.amount <= 1000
`;

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
  return { executions, getOrder, refund, wire };
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

export function enforcer() {
  return recordingEnforcer({ policy: POLICY });
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

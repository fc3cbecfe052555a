/**
 * The agent: three support tools, the customer-support policy, and the three
 * hexgate pieces wired into a ToolLoopAgent. Built once; the user comes from
 * `runWithUser` around each chat request.
 */
import { fileURLToPath } from 'node:url';
import { type Enforcer, loadPolicySync } from '@hexgate/core';
import { hexgateModelMiddleware, hexgateToolApproval, hexgateTools } from '@hexgate/vercel-ai';
import { stepCountIs, ToolLoopAgent, type ToolSet, tool, wrapLanguageModel } from 'ai';
import { z } from 'zod';

export const policyPath = fileURLToPath(new URL('../../policies/customer-support.yaml', import.meta.url));

/** A provider model object (e.g. `openai('gpt-4o-mini')` or the offline mock). */
export type ChatModel = Parameters<typeof wrapLanguageModel>[0]['model'];

export const supportTools: ToolSet = {
  get_order: tool({
    description: 'Look up an order by id.',
    inputSchema: z.object({ order_id: z.string() }),
    execute: async ({ order_id }) => `Order ${order_id}: shipped on Monday, 2 items, 80 USD.`,
  }),
  refund_order: tool({
    description: 'Refund an amount on an order.',
    inputSchema: z.object({ order_id: z.string(), amount: z.number(), currency: z.string() }),
    execute: async ({ order_id, amount, currency }) => `Refunded ${amount} ${currency} on ${order_id}.`,
  }),
  wire_transfer: tool({
    description: 'Wire money to an IBAN.',
    inputSchema: z.object({ iban: z.string(), amount: z.number() }),
    execute: async ({ iban, amount }) => `Wired ${amount} to ${iban}.`,
  }),
};

export function loadSupportPolicy() {
  return loadPolicySync(policyPath);
}

export function supportAgent(model: ChatModel, enforcer: Enforcer): ToolLoopAgent<never, ToolSet> {
  const options = { enforcer }; // decisions carry the enforcer's agentName
  return new ToolLoopAgent({
    instructions: 'You are a customer-support agent. Use the tools; respect refusals.',
    // Hides tools the user can never call (wire_transfer for support staff).
    model: wrapLanguageModel({ model, middleware: hexgateModelMiddleware(options) }),
    // Enforcement: every execute is gated and runs with the decided snapshot.
    tools: hexgateTools(supportTools, options),
    // Native outcomes: SDK denial with the reason, or the SDK approval request.
    toolApproval: hexgateToolApproval(options),
    stopWhen: stepCountIs(5),
  });
}

// Fixtures for the tracing tests: a support desk whose tools take a secret, a policy for it, and
// helpers to read what the local OTLP receiver got.
import { tryGetUser } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import type { ReceivedSpan } from '@hexgate/tracing/testing';
import { Agent, type Model, tool } from '@openai/agents';
import { z } from 'zod';
import { makeTools } from './kit.ts';

export const TRACED_POLICY = `
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
  billing:
    inherits: [default]
    tools:
      reset_password: { mode: allow }
      ask_billing: { mode: allow }
      transfer_to_billing_desk: { mode: allow }
      wire_transfer:
        mode: allow
        constraints:
          - args.amount <= 1000
`;

export const sam = { id: 'sam', roles: ['support'], sessionId: 'sess-sam' };
export const bea = { id: 'bea', roles: ['billing'], sessionId: 'sess-bea' };

export function tracedEnforcer() {
  return recordingEnforcer({ policy: TRACED_POLICY });
}

/** The kit's tools plus `reset_password`, whose `password` argument must never reach a trace. */
export function deskTools() {
  const tools = makeTools();
  const resetPassword = tool({
    name: 'reset_password',
    description: "Set a customer's password",
    parameters: z.object({ account: z.string(), password: z.string() }),
    execute: async ({ account }) => {
      tools.executions.push({ tool: 'reset_password', args: { account }, user: tryGetUser()?.id });
      return `password of ${account} reset`;
    },
  });
  return { ...tools, resetPassword };
}

export function deskAgent(model: Model, tools = deskTools()) {
  const agent = new Agent({
    name: 'support-bot',
    instructions: 'Help customers.',
    model,
    tools: [tools.getOrder, tools.refund, tools.resetPassword],
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

export const isRun = (s: ReceivedSpan) => s.observation.type === 'agent';
export const isGuardrail = (s: ReceivedSpan) => s.observation.type === 'guardrail';

/** The one span named `name` in `spans` (fails the test if there is not exactly one). */
export function only(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span '${name}', got ${found.length}`);
  return found[0]!;
}

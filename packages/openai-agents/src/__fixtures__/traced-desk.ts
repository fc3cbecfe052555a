// Fixtures for the tracing tests: a support desk with a secret-taking tool, and helpers to read what
// the local OTLP receiver got.
import type { ReceivedSpan } from '@hexgate/tracing/testing';
import { Agent, type Model } from '@openai/agents';
import { makeTools } from './kit.ts';

/** The kit's support agent plus `reset_password`, whose `password` argument must never reach a trace. */
export function deskAgent(model: Model, tools = makeTools()) {
  const agent = new Agent({
    name: 'support-bot',
    instructions: 'Help customers.',
    model,
    tools: [tools.getOrder, tools.refund, tools.resetPassword],
  });
  return { agent, ...tools };
}

export const isRun = (s: ReceivedSpan) => s.observation.type === 'agent';
export const isGuardrail = (s: ReceivedSpan) => s.observation.type === 'guardrail';

/** The one span named `name` in `spans` (fails the test if there is not exactly one). */
export function only(spans: readonly ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span '${name}', got ${found.length}`);
  return found[0]!;
}

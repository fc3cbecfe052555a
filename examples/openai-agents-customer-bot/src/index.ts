/**
 * A customer-support bot on the OpenAI Agents SDK, gated by
 * examples/policies/customer-support.yaml, used by two staff members:
 *
 * - sam (support): may look orders up; refunds up to 100 need a human's
 *   approval; no wires.
 * - bea (billing, EU): refunds up to 500 in USD/EUR; wires need approval.
 *
 * One `HexgateRunner` and one agent serve both; the user is given per run.
 * Without OPENAI_API_KEY the model is scripted (offline, a few hundred ms);
 * with it, the real model drives the same agent and the same policy. With
 * LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY set, every run and decision is
 * also traced to Langfuse (src/langfuse.ts).
 *
 *   pnpm demo        (or: pnpm --filter @examples/openai-agents-customer-bot start)
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ApprovalEvent, createEnforcer, type DecisionEvent, loadPolicySync, type User } from '@hexgate/core';
import { HexgateRunner } from '@hexgate/openai-agents';
import { Agent, RunState, type RunToolApprovalItem } from '@openai/agents';
import { startLangfuse } from './langfuse.ts';
import { createPrinter } from './print.ts';
import { type ScriptedCall, scriptedSupportModel } from './scripted-model.ts';
import { createSupportTools } from './support-tools.ts';

const POLICY_PATH = fileURLToPath(new URL('../../policies/customer-support.yaml', import.meta.url));

const IBAN = 'DE89370400440532013000';

/** Who uses the bot, what they ask, and (offline) the tool calls the scripted model makes. */
const CONVERSATIONS: ReadonlyArray<{ user: User; message: string; script: ScriptedCall[] }> = [
  {
    user: { id: 'sam', roles: ['support'] },
    message:
      'Customer on A-1001 asks where the order is and wants 40 EUR back for a scratch. ' +
      `They also want 250 EUR back on A-1002, and 5000 EUR wired to ${IBAN}.`,
    script: [
      { tool: 'get_order', args: { order_id: 'A-1001' } },
      { tool: 'refund_order', args: { order_id: 'A-1001', amount: 40, currency: 'EUR' } },
      { tool: 'refund_order', args: { order_id: 'A-1002', amount: 250, currency: 'EUR' } },
      { tool: 'wire_transfer', args: { amount: 5000, currency: 'EUR', iban: IBAN } },
    ],
  },
  {
    user: { id: 'bea', roles: ['billing'], attributes: { region: 'EU' } },
    message: `Billing queue: refund 250 EUR on A-1002, wire the 5000 EUR settlement to ${IBAN}, then refund 900 EUR on A-1002.`,
    script: [
      { tool: 'refund_order', args: { order_id: 'A-1002', amount: 250, currency: 'EUR' } },
      { tool: 'wire_transfer', args: { amount: 5000, currency: 'EUR', iban: IBAN } },
      { tool: 'refund_order', args: { order_id: 'A-1002', amount: 900, currency: 'EUR' } },
    ],
  },
];

/** The human in the loop, scripted: small refunds are fine, outgoing wires need a second signature. */
function reviewer(item: RunToolApprovalItem): { approve: boolean; reason: string } {
  let args: { amount?: unknown };
  try {
    args = JSON.parse(item.arguments ?? '{}');
  } catch {
    return { approve: false, reason: 'the arguments are not valid JSON' }; // a real model can produce those
  }
  if (item.name === 'refund_order' && typeof args.amount === 'number' && args.amount <= 50)
    return { approve: true, reason: 'small refund, customer in good standing' };
  if (item.name === 'wire_transfer') return { approve: false, reason: 'outgoing wires need a second signature' };
  return { approve: false, reason: 'over what I can sign off' };
}

export interface DemoReport {
  readonly decisions: DecisionEvent[];
  readonly approvals: ApprovalEvent[];
  /** Side effects that really happened (refunds issued, wires sent). */
  readonly effects: string[];
  /** The bot's final reply, per user id. */
  readonly replies: Record<string, string>;
}

export async function main(
  options: { write?: (line: string) => void; color?: boolean; offline?: boolean } = {},
): Promise<DemoReport> {
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const color = options.color ?? (!options.write && process.stdout.isTTY === true && !process.env.NO_COLOR);
  // The SDK's OpenAI provider reads OPENAI_API_KEY itself; without it, the scripted model plays the LLM.
  const live = !options.offline && Boolean(process.env.OPENAI_API_KEY);
  const print = createPrinter(write, color);
  const report: DemoReport = { decisions: [], approvals: [], effects: [], replies: {} };

  const enforcer = createEnforcer({
    policy: loadPolicySync(POLICY_PATH),
    onDecision: (e) => {
      report.decisions.push(e);
      print.decision(e);
    },
    onApproval: (e) => {
      report.approvals.push(e);
      print.approval(e);
    },
  });

  const realModel = process.env.OPENAI_MODEL ?? 'gpt-4.1-mini';
  const agent = new Agent({
    name: 'support-bot',
    instructions:
      'You are a customer-support assistant for an online shop. Use the tools to act on each request, one ' +
      'tool call at a time. If a tool result starts with [policy_denied] or [approval_required], do not retry ' +
      'it: tell the user what could not be done and why.',
    model: live ? realModel : scriptedSupportModel(new Map(CONVERSATIONS.map((c) => [c.message, c.script]))),
    tools: createSupportTools((line) => {
      report.effects.push(line);
      print.effect(line);
    }),
  });
  // One runner, one agent, every user. The SDK's own tracing (to OpenAI) is off, so the demo never touches
  // the network on its own; hexgate's tracing is on only when a provider is registered (src/langfuse.ts).
  const runner = new HexgateRunner({ enforcer, tracingDisabled: true });

  print.banner(
    live ? `${realModel} (OPENAI_API_KEY is set)` : 'scripted, offline (set OPENAI_API_KEY to use a real model)',
    'examples/policies/customer-support.yaml',
  );
  for (const { user, message } of CONVERSATIONS) {
    print.user(user, message);
    let result = await runner.run<typeof agent, unknown>(agent, message, { user });
    while (result.interruptions.length > 0) {
      // A pause can outlive the process: save the state, restore it, answer, resume.
      const saved = result.state.toString();
      print.paused(result.interruptions.length, saved.length);
      const state = await RunState.fromString(agent, saved);
      for (const item of state.getInterruptions()) {
        const { approve, reason } = reviewer(item);
        print.reviewer(item.name ?? 'tool', approve, reason);
        if (approve) state.approve(item);
        else state.reject(item);
      }
      print.resumed();
      result = await runner.run(agent, state, { user });
    }
    report.replies[user.id] = String(result.finalOutput ?? '');
    print.reply(report.replies[user.id]!);
  }
  write('');
  return report;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const stopLangfuse = startLangfuse();
  try {
    await main();
  } finally {
    // Flushes the traces before the process exits; an unreachable Langfuse must not fail the demo.
    await stopLangfuse?.().then(
      () => console.log(`traces sent to ${process.env.LANGFUSE_BASE_URL ?? 'https://cloud.langfuse.com'}`),
      (e: unknown) => console.error(`Langfuse: could not send the traces (${(e as Error)?.message ?? e})`),
    );
  }
}

/**
 * A framework-free "agent" that does what an adapter does around each tool
 * call: decide, then run (traceToolCall) or refuse (recordDecision), with an
 * inline approver for approval_required. Used by the export and no-tracer
 * tests so both run the exact same calls.
 */
import { type Decision, decisionText, type Enforcer, runWithUser, type User } from '@hexgate/core';
import { recordingEnforcer, testPolicy } from '@hexgate/core/testing';
import { recordDecision, traceRun, traceToolCall } from '../index.ts';

export const policy = testPolicy(`
  roles:
    basics:
      is_mixin: true
      tools:
        get_weather: { mode: allow }
        login: { mode: allow }
        flaky: { mode: allow }
        change_password: { mode: deny }
    default:
      inherits: [basics]
    support:
      inherits: [basics]
      tools:
        refund:
          mode: approval_required
          constraints:
            - args.amount <= 100
`);

export function makeEnforcer(mode: 'enforce' | 'shadow' = 'enforce') {
  return recordingEnforcer({ policy, agentName: 'support-bot', mode });
}

export interface ToolCallSpec {
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/** Which tools actually executed, across all runs. */
export const executions: string[] = [];

const tools: Record<string, (args: Record<string, unknown>) => Promise<string>> = {
  get_weather: async (args) => `sunny in ${String(args.city)}`,
  login: async (args) => `logged in ${String(args.user)}`,
  refund: async (args) => `refunded ${String(args.amount)}`,
  change_password: async () => 'password changed',
  flaky: async () => {
    throw new Error('upstream timeout');
  },
};

/** What the model would see for each call. */
export async function callTool(enforcer: Enforcer, call: ToolCallSpec, approver = 'carol'): Promise<string> {
  const { decision, args } = enforcer.decide({ tool: call.tool, args: call.args });
  const run = () => {
    executions.push(call.tool);
    const impl = tools[call.tool];
    if (!impl) throw new Error(`no tool ${call.tool}`);
    return impl(args as Record<string, unknown>);
  };
  try {
    if (decision.effective === 'allow') return await traceToolCall(decision, args, run);
    if (decision.effective === 'approval_required' && approves(decision)) {
      return await traceToolCall(decision, args, run, { approval: { status: 'approved', approver } });
    }
  } catch (e) {
    return `[tool_error] ${(e as Error).message}`;
  }
  recordDecision(decision, call.args, {
    ...(decision.effective === 'approval_required' ? { approval: { status: 'rejected' as const, approver } } : {}),
  });
  return decisionText(decision);
}

// The approver approves small refunds only.
function approves(decision: Decision): boolean {
  return decision.tool === 'refund';
}

/** One run as an adapter would trace it: user bound around the whole run. */
export function simulatedRun(enforcer: Enforcer, user: User, calls: readonly ToolCallSpec[]): Promise<string[]> {
  return runWithUser(user, () =>
    traceRun({ framework: 'test', agentName: 'support-bot', input: { calls: calls.length } }, async () => {
      const out: string[] = [];
      for (const call of calls) out.push(await callTool(enforcer, call));
      return out;
    }),
  );
}

export const standardCalls: readonly ToolCallSpec[] = [
  { tool: 'get_weather', args: { city: 'Paris' } },
  { tool: 'change_password', args: { user: 'bob', password: 'hunter2' } },
  { tool: 'login', args: { user: 'bob', password: 'hunter2', apiKey: 'sk-live-123' } },
  { tool: 'refund', args: { amount: 50 } },
  { tool: 'flaky', args: {} },
];

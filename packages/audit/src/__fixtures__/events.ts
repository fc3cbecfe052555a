/** Synthetic decision and approval events with chosen fields (time, timings, outcomes). */
import { randomUUID } from 'node:crypto';
import type { ApprovalEvent, Decision, DecisionEvent, FrozenArgs, User } from '@hexgate/core';
import { hashArgs } from '@hexgate/core';

export type DecisionInput = Partial<Decision> & { readonly args?: unknown; readonly user?: User };

export function decisionEvent(input: DecisionInput = {}): DecisionEvent {
  const { args = { query: 'status' }, user, ...fields } = input;
  const decision: Decision = {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    outcome: 'allow',
    effective: 'allow',
    mode: 'enforce',
    tool: 'search',
    agentName: 'bot',
    userId: 'alice',
    sessionId: 'sess-1',
    roles: ['support'],
    decidingRole: 'support',
    reason: 'allowed',
    violations: [],
    policyDigest: 'digest-1',
    evaluationMs: 0.01,
    ...fields,
  };
  return {
    decision,
    args: args as FrozenArgs,
    user: user ?? { id: decision.userId ?? 'anon', roles: decision.roles, attributes: { region: 'EU' } },
  };
}

export function approvalEvent(
  d: DecisionEvent,
  status: ApprovalEvent['status'],
  extra: Partial<ApprovalEvent> = {},
): ApprovalEvent {
  return {
    status,
    decision: d.decision,
    argsHash: hashArgs(d.args),
    timestamp: new Date().toISOString(),
    ...extra,
  };
}

/** ISO time `days` days (and `hours` hours) before `now`. */
export function ago(now: Date, days: number, hours = 0): string {
  return new Date(now.getTime() - days * 86_400_000 - hours * 3_600_000).toISOString();
}

/**
 * @hexgate/core/testing: helpers for tests of code that uses hexgate
 * (adapters, applications). Public API, kept small.
 */
import {
  type ApprovalEvent,
  createEnforcer,
  type DecisionEvent,
  type Enforcer,
  type EnforcerOptions,
  type Policy,
  parsePolicy,
  runWithUser,
  type User,
} from '../index.ts';

/** Parses an inline YAML policy (dedented), throwing `PolicyLoadError` on problems. */
export function testPolicy(yaml: string): Policy {
  return parsePolicy(dedent(yaml), { filename: '<test policy>' });
}

export interface RecordingEnforcer extends Enforcer {
  /** Every decision, in order. */
  readonly decisions: DecisionEvent[];
  /** Every approval event, in order. */
  readonly approvals: ApprovalEvent[];
}

/** An enforcer that also records every decision and approval event it reports. */
export function recordingEnforcer(
  options: Omit<EnforcerOptions, 'policy'> & { policy: Policy | string },
): RecordingEnforcer {
  const decisions: DecisionEvent[] = [];
  const approvals: ApprovalEvent[] = [];
  const policy = typeof options.policy === 'string' ? testPolicy(options.policy) : options.policy;
  const enforcer = createEnforcer({
    ...options,
    policy,
    onDecision: (e) => {
      decisions.push(e);
      options.onDecision?.(e);
    },
    onApproval: (e) => {
      approvals.push(e);
      options.onApproval?.(e);
    },
  });
  return { ...enforcer, decisions, approvals };
}

/** Runs `fn` as a test user (`id` defaults to `test-user`). */
export function withTestUser<T>(user: Partial<User> & { roles?: readonly string[] }, fn: () => T): T {
  return runWithUser({ id: 'test-user', ...user }, fn);
}

function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)?.[0].length ?? 0));
  return lines.map((l) => l.slice(Number.isFinite(indent) ? indent : 0)).join('\n');
}

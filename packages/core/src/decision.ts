/**
 * The `Decision` every tool call gets, and its two model-facing forms.
 * The model-facing forms never include arguments, user attributes or the
 * caller's other roles: they say what was blocked and why, nothing more.
 */

export type Outcome = 'allow' | 'deny' | 'approval_required';
export type EnforcementMode = 'enforce' | 'shadow';

export interface Decision {
  /** Unique id (UUID v4), also the key approvals and audit records refer to. */
  readonly id: string;
  /** ISO-8601 time the decision was made. */
  readonly timestamp: string;
  /** What the policy decided. */
  readonly outcome: Outcome;
  /**
   * What the adapter must do. Equal to `outcome` in enforce mode; always
   * `allow` in shadow mode (the decision is reported, the call proceeds).
   */
  readonly effective: Outcome;
  readonly mode: EnforcementMode;
  readonly tool: string;
  readonly agentName: string | undefined;
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  /** The caller's roles as given (before mapping unknown names to `default`). */
  readonly roles: readonly string[];
  /** The role whose result decided the outcome; undefined when no role was evaluated. */
  readonly decidingRole: string | undefined;
  /** Human-readable reason. */
  readonly reason: string;
  /** Every failing constraint, verbatim as written in the policy. */
  readonly violations: readonly string[];
  /** sha256 of the normalized policy that decided. */
  readonly policyDigest: string;
  /** Time spent deciding, in milliseconds (sub-microsecond resolution). */
  readonly evaluationMs: number;
}

export interface DecisionPayload {
  readonly type: 'policy_denied' | 'approval_required';
  readonly message: string;
  readonly tool_name: string;
  readonly agent_name: string | null;
  readonly retryable: false;
  readonly role?: string;
  readonly violations?: readonly string[];
}

function sentence(reason: string): string {
  const trimmed = reason.trimEnd();
  if (trimmed === '') return 'no reason given.';
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/**
 * The text the model sees instead of the tool's result:
 * `[policy_denied] Tool 'x' is denied by the agent policy: <reason>. The tool was not executed.`
 * For `allow` there is nothing to render; this returns the deny form for any
 * non-approval outcome so a caller can never leak an allow as an empty string.
 */
export function decisionText(decision: Decision): string {
  const reason = sentence(decision.reason);
  if (decision.outcome === 'approval_required') {
    return `[approval_required] Tool '${decision.tool}' requires human approval before execution: ${reason} The tool was not executed.`;
  }
  return `[policy_denied] Tool '${decision.tool}' is denied by the agent policy: ${reason} The tool was not executed.`;
}

/** Structured form of `decisionText`, for hosts that return JSON to the model. */
export function decisionPayload(decision: Decision): DecisionPayload {
  const payload: {
    -readonly [K in keyof DecisionPayload]: DecisionPayload[K];
  } = {
    type: decision.outcome === 'approval_required' ? 'approval_required' : 'policy_denied',
    message: decisionText(decision),
    tool_name: decision.tool,
    agent_name: decision.agentName ?? null,
    retryable: false,
  };
  if (decision.decidingRole !== undefined) payload.role = decision.decidingRole;
  if (decision.violations.length > 0) payload.violations = [...decision.violations];
  return payload;
}

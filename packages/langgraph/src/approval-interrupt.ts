/**
 * The LangGraph human-in-the-loop contract for `approval_required` decisions:
 * the value the graph interrupts with, the answer the application resumes
 * with (`new Command({ resume })`), and helpers to build and read them.
 */
import { type Decision, decisionText, type FrozenArgs, hashArgs } from '@hexgate/core';

export const APPROVAL_INTERRUPT_TYPE = 'hexgate.approval_required';

/** The interrupt value for one gated call (what `result.__interrupt__[i].value` holds). */
export interface ApprovalInterrupt {
  readonly type: typeof APPROVAL_INTERRUPT_TYPE;
  readonly tool: string;
  /** The exact arguments that will run if approved. */
  readonly args: FrozenArgs;
  /** sha256 of the canonical JSON of `args`; an answer carrying it approves only these arguments. */
  readonly argsHash: string;
  readonly reason: string;
  readonly decisionId: string;
  readonly toolCallId: string | null;
  readonly agentName: string | null;
  readonly userId: string | null;
  /** The `[approval_required] ...` text, ready to show a reviewer. */
  readonly message: string;
}

/**
 * What to resume with. Only a literal `true` (or `approved: true`) approves.
 * `toolCallId` / `argsHash` / `userId`, when present, bind the answer to one
 * call of one user: an answer for another call, other arguments or another
 * user (e.g. someone else resuming the thread) is ignored and that call is
 * asked again.
 */
export type ApprovalResume =
  | boolean
  | {
      readonly approved: boolean;
      readonly reason?: string;
      readonly approver?: string;
      readonly toolCallId?: string | null;
      readonly argsHash?: string;
      /** The user the approved request was for (`null`: no user); another user's call is asked again. */
      readonly userId?: string | null;
    };

export interface PendingApproval {
  /** LangGraph's interrupt id: resume several at once with `new Command({ resume: { [interruptId]: answer } })`. */
  readonly interruptId: string | undefined;
  readonly request: ApprovalInterrupt;
}

export function approvalInterrupt(
  decision: Decision,
  args: FrozenArgs,
  toolCallId: string | undefined,
): ApprovalInterrupt {
  return {
    type: APPROVAL_INTERRUPT_TYPE,
    tool: decision.tool,
    args,
    argsHash: hashArgs(args),
    reason: decision.reason,
    decisionId: decision.id,
    toolCallId: toolCallId ?? null,
    agentName: decision.agentName ?? null,
    userId: decision.userId ?? null,
    message: decisionText(decision),
  };
}

/** An answer approving exactly this request (bound to its call id, argument hash and user). */
export function approve(request: ApprovalInterrupt, options: { approver?: string } = {}): ApprovalResume {
  return { approved: true, ...binding(request), ...options };
}

/** An answer rejecting this request; `reason` is shown to the model. */
export function reject(
  request: ApprovalInterrupt,
  reason = 'rejected by reviewer',
  options: { approver?: string } = {},
): ApprovalResume {
  return { approved: false, reason, ...binding(request), ...options };
}

function binding(request: ApprovalInterrupt) {
  return { toolCallId: request.toolCallId, argsHash: request.argsHash, userId: request.userId };
}

function isApprovalInterrupt(value: unknown): value is ApprovalInterrupt {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === APPROVAL_INTERRUPT_TYPE;
}

/**
 * The hexgate approvals a run is waiting for. Accepts an `invoke` result or
 * stream chunk (`__interrupt__`), a `getState()` snapshot (`tasks[].interrupts`)
 * or an array of LangGraph interrupts.
 */
export function pendingApprovals(source: unknown): PendingApproval[] {
  const s = source as { __interrupt__?: unknown; tasks?: { interrupts?: unknown[] }[] } | undefined;
  const list: unknown[] = Array.isArray(source)
    ? source
    : Array.isArray(s?.__interrupt__)
      ? s.__interrupt__
      : Array.isArray(s?.tasks)
        ? s.tasks.flatMap((t) => t.interrupts ?? [])
        : [];
  return list.flatMap((i) => {
    const { id, value } = (i ?? {}) as { id?: string; value?: unknown };
    return isApprovalInterrupt(value) ? [{ interruptId: id, request: value }] : [];
  });
}

/** Reads a resume value: whether it answers this request, and whether it approves. */
export function readAnswer(
  answer: unknown,
  request: ApprovalInterrupt,
): { fits: boolean; approved: boolean; reason: string; approver?: string } {
  if (typeof answer !== 'object' || answer === null) {
    return { fits: true, approved: answer === true, reason: answer === true ? 'approved' : 'approval was not granted' };
  }
  const a = answer as Exclude<ApprovalResume, boolean>;
  // The call is decided again on resume, for whoever resumes: an approval
  // given for alice's request must not run the same call for mallory.
  const fits =
    (a.toolCallId == null || a.toolCallId === request.toolCallId) &&
    (a.argsHash === undefined || a.argsHash === request.argsHash) &&
    (a.userId === undefined || a.userId === request.userId);
  const approved = a.approved === true;
  const reason = typeof a.reason === 'string' ? a.reason : approved ? 'approved' : 'approval was not granted';
  return { fits, approved, reason, ...(typeof a.approver === 'string' ? { approver: a.approver } : {}) };
}

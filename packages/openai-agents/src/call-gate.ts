/**
 * The decide -> approve -> run flow every gated call shares: function tools
 * (`gate-tool.ts`) and the local shell, apply_patch and computer tools. The
 * caller says where a call runs and what to do with the decided snapshot;
 * this module makes the one authoritative decision, resolves its approval,
 * traces it, and never throws (a throw would abort the whole SDK run).
 *
 * - `decide` (where the call runs) decides on the value the executor was
 *   handed. `approval_required` counts as approved only through an approval
 *   bound to exactly these arguments and this user: one the SDK was given for
 *   a request this gate recorded, or the `approvalHandler`'s literal `true`.
 * - `execute` runs an allowed call with the snapshot, inside `traceToolCall`;
 *   a blocked one is a `recordDecision` and returns the decision text in the
 *   shape the tool's result needs.
 * - `needsApproval` maps `approval_required` onto the SDK's native pause. The
 *   SDK calls it before the executor; it only predicts the outcome silently
 *   (`enforcer.preview`), and records a decision and an approval request only
 *   for calls that need one.
 */
import { type Decision, type FrozenArgs, tryGetUser, type User } from '@hexgate/core';
import { type ApprovalInfo, recordDecision, traceToolCall } from '@hexgate/tracing';
import type { RunContext } from '@openai/agents';
import { ApprovalBook, approvalSlot, askInline, tryHash } from './approvals.ts';
import { type Gate, resolveUser, textFor } from './options.ts';

/**
 * Where a call runs: its run context (for the user carried in it, and the SDK's
 * approvals) and its call id. Undefined when the executor was not told (the
 * SDK hands `Shell.run` only the action) and the gate did not see the call start.
 */
export interface CallSite {
  readonly runContext: RunContext<any> | undefined;
  readonly callId: string | undefined;
  /** The SDK's cancellation for this call (function tools): a call cancelled while an approver is asked never runs. */
  readonly signal?: AbortSignal | undefined;
}

export const UNKNOWN_SITE: CallSite = Object.freeze({ runContext: undefined, callId: undefined });

/** The decision for one call where it runs, with the approval that settled it, if any. */
export interface Verdict {
  readonly decision: Decision;
  /** The snapshot to run with; undefined when the arguments were rejected. */
  readonly args: FrozenArgs | undefined;
  /** What was decided on (for the trace when there is no snapshot). */
  readonly raw: unknown;
  readonly approval: ApprovalInfo | undefined;
  readonly runs: boolean;
}

export interface CallGate {
  /** False with an `approvalHandler` or in shadow mode: no policy approval ever pauses the run. */
  readonly pauses: boolean;
  decide(args: unknown, site: CallSite): Promise<Verdict>;
  /** Denies a call for a reason the gate found itself (reported like any decision); it never runs. */
  refuse(args: unknown, reason: string, runContext?: RunContext<any>): Verdict;
  execute<R>(verdict: Verdict, run: (args: FrozenArgs) => R | Promise<R>, blocked: (text: string) => R): Promise<R>;
  /** Records a verdict whose call does not run (blocked, or a sibling in its batch was). */
  record(verdict: Verdict): void;
  /** The gated `needsApproval`: the policy's verdict, composed with the tool's own setting (`own`). */
  needsApproval(
    runContext: RunContext<any>,
    args: unknown,
    callId: string | undefined,
    own: () => Promise<boolean>,
  ): Promise<boolean>;
  /** Whether the approval pending for this call was requested by the policy (not by the tool itself). */
  askedByPolicy(runContext: RunContext<any>, args: unknown, callId: string | undefined): boolean;
}

export interface CallGateOptions {
  /**
   * One call id, several decisions (a computer call's batch of actions): each
   * approval binding is keyed by the call id and the hash of its arguments.
   */
  readonly perArgs?: boolean;
}

export function createCallGate(
  gate: Gate,
  toolName: string,
  agentName: string,
  options: CallGateOptions = {},
): CallGate {
  const { enforcer, book } = gate;
  const keyFor = (userId: string | undefined, callId: string, args: unknown) =>
    ApprovalBook.key(userId, toolName, approvalSlot(callId, args, options.perArgs === true));

  const decideNow = (args: unknown, site: CallSite) => {
    const user: User | undefined = site.runContext ? resolveUser(site.runContext) : tryGetUser();
    const call = { tool: toolName, args, agentName, user };
    // Without the run context, a user carried in it is invisible: never decide as anonymous by accident.
    if (!site.runContext && !user)
      return enforcer.refuse(call, 'hexgate could not tell which run this call belongs to, so its user is unknown');
    return enforcer.decide(call);
  };

  /**
   * The answer to an approval the SDK was given for this call: approved only
   * if it covers the approval that was requested for it; undefined when the
   * SDK has no answer of ours (no approval given, or `approvalHandler` in use).
   */
  const sdkApproval = (site: CallSite, decision: Decision, args: FrozenArgs): ApprovalInfo | undefined => {
    // With an `approvalHandler`, policy approvals go through it; an SDK approval is the tool's own.
    if (gate.options.approvalHandler || site.callId === undefined) return undefined;
    if (site.runContext?.isToolApproved?.({ toolName, callId: site.callId }) !== true) return undefined;
    // Bound to the user (the key) and the arguments it was requested for. No
    // binding at all (another user, or a sticky `alwaysApprove` covering a
    // later call) approves nothing.
    const binding = book.take(keyFor(decision.userId, site.callId, args));
    const bound = binding !== undefined && binding.hash === tryHash(args);
    const answer: ApprovalInfo = bound
      ? { status: 'approved' }
      : {
          status: 'rejected',
          reason: binding
            ? 'the approval was given for other arguments or another user'
            : 'no approval was requested for this call',
        };
    enforcer.reportApproval({ ...answer, decision: binding?.decision ?? decision, args });
    return answer;
  };

  const policyNeedsApproval = (
    runContext: RunContext<any>,
    input: unknown,
    callId: string | undefined,
  ): 'approval' | Decision['outcome'] => {
    try {
      const call = { tool: toolName, args: input, agentName, user: resolveUser(runContext) };
      const outcome = enforcer.preview(call);
      if (outcome !== 'approval_required' || callId === undefined) return outcome;
      const key = keyFor(call.user?.id, callId, input);
      const known = book.peek(key);
      // The same request surfacing again (e.g. a resume without an answer): already recorded.
      if (known && known.hash === tryHash(input)) return 'approval';
      const { decision, args } = enforcer.decide(call);
      if (decision.effective !== 'approval_required' || !args) return decision.effective;
      book.bind(key, { decision, args, hash: tryHash(args) ?? '' });
      enforcer.reportApproval({ status: 'requested', decision, args });
      recordDecision(decision, args, { approval: { status: 'requested' } });
      return 'approval';
    } catch {
      // The executor decides again and fails closed; a throw here would abort the run.
      return 'allow';
    }
  };

  // Without a snapshot (rejected arguments) the tracer gets the raw value and parses it itself.
  const record = (verdict: Verdict) =>
    recordDecision(
      verdict.decision,
      verdict.args ?? verdict.raw,
      verdict.approval ? { approval: verdict.approval } : {},
    );

  return {
    // Inline approvals and shadow mode never pause the run: the tool's own approval setting stays untouched.
    pauses: !gate.options.approvalHandler && enforcer.mode !== 'shadow',

    async decide(raw, site) {
      const { decision, args } = decideNow(raw, site);
      let approval: ApprovalInfo | undefined;
      if (decision.effective === 'approval_required' && args !== undefined) {
        approval = sdkApproval(site, decision, args) ?? (await askInline(gate, decision, args, site.signal));
      } else if (site.callId !== undefined) {
        book.take(keyFor(decision.userId, site.callId, args ?? raw)); // the policy changed since the request: drop it
      }
      const runs = args !== undefined && (decision.effective === 'allow' || approval?.status === 'approved');
      return { decision, args, raw, approval, runs };
    },

    refuse(raw, reason, runContext) {
      const user = runContext ? resolveUser(runContext) : undefined;
      const { decision, args } = enforcer.refuse({ tool: toolName, args: raw, agentName, user }, reason);
      return { decision, args, raw, approval: undefined, runs: false };
    },

    async execute(verdict, run, blocked) {
      if (!verdict.runs || verdict.args === undefined) {
        record(verdict);
        return blocked(textFor(gate, verdict.decision));
      }
      const { args } = verdict;
      // Only throws for a decision that does not let the tool run, which `runs` excludes.
      return await traceToolCall(
        verdict.decision,
        args,
        () => run(args),
        verdict.approval ? { approval: verdict.approval } : {},
      );
    },

    record,

    async needsApproval(runContext, args, callId, own) {
      const verdict = policyNeedsApproval(runContext, args, callId);
      if (verdict === 'deny') return false; // the executor will deny it; do not ask a human first
      return verdict === 'approval' || own();
    },

    askedByPolicy(runContext, args, callId) {
      if (callId === undefined) return false;
      return book.peek(keyFor(resolveUser(runContext)?.id, callId, args)) !== undefined;
    },
  };
}

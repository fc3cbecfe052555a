/**
 * The one decision path behind both approval hooks (`toolApproval` and a
 * gated tool's `needsApproval`): decide the call, open or verify its
 * approval, and hand the decision to the gated `execute` so each call is
 * decided once and runs with the snapshot that was decided.
 *
 * Tracing: a call that will not run here (denied, approval requested or
 * refused, or run by someone else than the gated `execute`) is recorded now
 * with `recordDecision`; a call the gated `execute` runs is recorded there,
 * around the execution (`traceToolCall`). So each decision is recorded once.
 */
import {
  type ApprovalStatus,
  decisionText,
  type Enforcement,
  hashArgs,
  type ToolCall,
  tryGetUser,
  type User,
} from '@hexgate/core';
import { recordDecision } from '@hexgate/tracing';
import { callsWithId, grantedApproval, refusedCalls } from './approval-messages.ts';
import {
  type ApprovalStore,
  approvalKey,
  approvalStore,
  type HexgateAiOptions,
  type PendingApproval,
  UnreadableUser,
} from './options.ts';

type Messages = readonly { readonly role: string; readonly content: unknown }[];

export type GateStatus =
  | { readonly type: 'allow' }
  | { readonly type: 'approved' }
  | { readonly type: 'denied'; readonly reason: string }
  | { readonly type: 'user-approval'; readonly reason: string };

export interface GateCall {
  readonly tool: string;
  readonly input: unknown;
  readonly toolCallId: string;
  readonly messages: Messages;
  /** The caller from the SDK's explicit context; undefined means `runWithUser`. */
  readonly user: User | UnreadableUser | undefined;
  /**
   * Whether a gated `execute` runs this call if it goes ahead (and traces it
   * there). False for client-side and provider-executed tools, and for tools
   * that were not wrapped by `hexgateTools`.
   */
  readonly executes: boolean;
}

/** What the gated `execute` receives from the hook that decided its call. */
export interface Handoff {
  readonly tool: string;
  readonly input: unknown;
  readonly enforcement: Enforcement;
  /** True once a human approval was verified for exactly these arguments. */
  readonly approved: boolean;
  /** The model-facing refusal when the call must not run for a reason the decision does not carry. */
  readonly denial?: string;
  /** The approver's comment, when a human approval was verified. */
  readonly approvalReason?: string;
}

// The SDK passes the same `messages` array to the approval hook and to
// `execute` within one step (and on resume), and the same `input` object, so
// they identify the call without a global cache that could leak or collide.
const handoffs = new WeakMap<object, Map<string, Handoff>>();
const scanned = new WeakMap<ApprovalStore, WeakSet<object>>();
// The call ids already gated in one step (keyed, like the handoffs, on the
// step's `messages` array). Unlike a handoff, an id stays here once the call
// ran, so a later call of the same step with that id is still recognised.
const gatedIds = new WeakMap<object, Set<string>>();

/**
 * Whether another call already uses this call's id: earlier in the
 * conversation, or earlier in this step (a model can repeat ids). The SDK
 * binds an approval to an id and resumes the LAST call with it, so with two
 * calls a human could approve one and see the other run.
 */
function idInUse(call: GateCall): boolean {
  const ids = gatedIds.get(call.messages) ?? new Set<string>();
  gatedIds.set(call.messages, ids);
  const used = ids.has(call.toolCallId) || callsWithId(call.messages, call.toolCallId) > 0;
  ids.add(call.toolCallId);
  return used;
}

const SHARED_ID =
  'the call id is used by more than one tool call in this conversation, so an approval cannot be bound to this call';

function handOff(call: GateCall, handoff: Omit<Handoff, 'tool' | 'input'>): void {
  const calls = handoffs.get(call.messages) ?? new Map<string, Handoff>();
  handoffs.set(call.messages, calls);
  calls.set(call.toolCallId, { tool: call.tool, input: call.input, ...handoff });
}

/** The hook's decision for this exact call, consumed once; undefined when `execute` must decide itself. */
export function takeHandoff(messages: object, toolCallId: string, tool: string, input: unknown): Handoff | undefined {
  const calls = handoffs.get(messages);
  const handoff = calls?.get(toolCallId);
  calls?.delete(toolCallId);
  return handoff && handoff.tool === tool && handoff.input === input ? handoff : undefined;
}

function sameArgs(a: unknown, b: unknown): boolean {
  try {
    return hashArgs(a) === hashArgs(b);
  } catch {
    return false;
  }
}

function report(options: HexgateAiOptions, status: ApprovalStatus, pending: PendingApproval, reason?: string) {
  options.enforcer.reportApproval({
    status,
    decision: pending.decision,
    args: pending.args,
    ...(reason === undefined ? {} : { reason }),
  });
}

/** Reports approvals the user refused (the SDK resolves them without calling any hook). */
export async function closeRefused(options: HexgateAiOptions, messages: Messages, userId: string | undefined) {
  const store = approvalStore(options);
  const seen = scanned.get(store) ?? new WeakSet<object>();
  scanned.set(store, seen);
  if (seen.has(messages)) return;
  seen.add(messages);
  try {
    for (const [toolCallId, reason] of refusedCalls(messages)) {
      const key = approvalKey(userId, toolCallId);
      const pending = await store.get(key);
      if (pending && (await store.delete(key))) {
        const why = reason ?? 'the approver declined';
        report(options, 'rejected', pending, why);
        recordDecision(pending.decision, pending.args, { approval: { status: 'rejected', reason: why } });
      }
    }
  } catch (e) {
    // Reporting only: a store failure here must not fail the run.
    process.emitWarning(`hexgate: could not close refused approvals: ${(e as Error)?.message ?? e}`);
  }
}

/** A call as the enforcer sees it; no user means the one bound with `runWithUser`. */
export function toolCall(options: HexgateAiOptions, tool: string, args: unknown, user: User | undefined): ToolCall {
  return {
    tool,
    args,
    ...(user ? { user } : {}),
    ...(options.agentName ? { agentName: options.agentName } : {}),
  };
}

/** The user a call is decided for; an unreadable one refuses the call. */
export function decideCall(
  options: HexgateAiOptions,
  tool: string,
  args: unknown,
  user: User | UnreadableUser | undefined,
): Enforcement {
  if (user instanceof UnreadableUser)
    return options.enforcer.refuse(toolCall(options, tool, args, undefined), user.reason);
  return options.enforcer.decide(toolCall(options, tool, args, user));
}

const knownUser = (user: User | UnreadableUser | undefined) => (user instanceof UnreadableUser ? undefined : user);

export async function gateCall(options: HexgateAiOptions, call: GateCall): Promise<GateStatus> {
  await closeRefused(options, call.messages, (knownUser(call.user) ?? tryGetUser())?.id);
  const enforcement = decideCall(options, call.tool, call.input, call.user);
  const { decision } = enforcement;
  try {
    const granted = grantedApproval(call.messages, call.toolCallId);
    if (!granted) {
      const reusedId = idInUse(call);
      handOff(call, { enforcement, approved: false });
      if (decision.effective === 'allow') {
        if (!call.executes) recordDecision(decision, enforcement.args, { toolRan: true });
        return { type: 'allow' };
      }
      if (decision.effective === 'deny') {
        recordDecision(decision, enforcement.args ?? call.input);
        return { type: 'denied', reason: decisionText(decision) };
      }
      // Asking a human is pointless when the approval could never be resumed
      // for this call (see `idInUse`): refuse now instead.
      if (reusedId) return refuseCall(options, call, enforcement, SHARED_ID);
      const pending: PendingApproval = { decision, args: enforcement.args };
      await approvalStore(options).set(approvalKey(decision.userId, call.toolCallId), pending);
      report(options, 'requested', pending);
      recordDecision(decision, enforcement.args, { approval: { status: 'requested' } });
      return { type: 'user-approval', reason: decision.reason };
    }
    // Resumed with a granted approval: it is used up now, whatever happens,
    // so a replayed history can never run the call a second time.
    const store = approvalStore(options);
    const key = approvalKey(decision.userId, call.toolCallId);
    const pending = await store.get(key);
    const claimed = pending !== undefined && (await store.delete(key)) ? pending : undefined;
    // The approval covers exactly the call that was decided: same tool, same
    // agent, same arguments (the user is in the key).
    const matches =
      claimed !== undefined &&
      claimed.decision.tool === call.tool &&
      claimed.decision.agentName === decision.agentName &&
      enforcement.args !== undefined &&
      sameArgs(claimed.args, enforcement.args);
    // Two calls with this id: the human may have approved the other one.
    const unique = callsWithId(call.messages, call.toolCallId) === 1;
    const covered =
      unique && (decision.effective === 'allow' || (decision.effective === 'approval_required' && matches));
    if (covered) {
      if (claimed) {
        // An allowed call runs anyway; the approval it used up was for another call.
        if (matches) report(options, 'approved', claimed, granted.reason);
        else report(options, 'rejected', claimed, 'the resumed call is not the call that was approved');
      }
      handOff(call, {
        enforcement,
        approved: true,
        ...(granted.reason === undefined ? {} : { approvalReason: granted.reason }),
      });
      if (!call.executes) {
        recordDecision(decision, enforcement.args, { approval: approvedBy(granted.reason), toolRan: true });
      }
      return { type: 'approved' };
    }
    const reason =
      decision.effective === 'deny'
        ? decisionText(decision)
        : decisionText({
            ...decision,
            reason: unique
              ? 'no pending approval matches this call and these arguments (already used, expired, or changed)'
              : SHARED_ID,
          });
    if (claimed) report(options, 'rejected', claimed, reason);
    recordDecision(
      decision,
      enforcement.args ?? call.input,
      decision.effective === 'approval_required' ? { approval: { status: 'rejected', reason } } : {},
    );
    handOff(call, { enforcement, approved: false, denial: reason });
    return { type: 'denied', reason };
  } catch (e) {
    // Fail closed: an approval store failure blocks the call, never the run.
    return refuseCall(
      options,
      call,
      enforcement,
      `the approval state could not be read or written (${(e as Error)?.message ?? e})`,
    );
  }
}

/**
 * Denies a call for a reason the adapter found itself. `refuse` records the
 * denial like any decision (audit, listeners), so the trail shows what the
 * call became, not only the verdict before.
 */
function refuseCall(options: HexgateAiOptions, call: GateCall, enforcement: Enforcement, why: string): GateStatus {
  const refused = options.enforcer.refuse(
    toolCall(options, call.tool, enforcement.args ?? call.input, knownUser(call.user)),
    why,
  );
  const reason = decisionText(refused.decision);
  recordDecision(refused.decision, refused.args ?? call.input);
  handOff(call, { enforcement: refused, approved: false, denial: reason });
  return { type: 'denied', reason };
}

/** The approval as the tracer records it (the SDK carries no approver identity, only a comment). */
export function approvedBy(reason: string | undefined) {
  return { status: 'approved' as const, ...(reason === undefined ? {} : { reason }) };
}

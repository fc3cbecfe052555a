/**
 * The approval fields of a gated local tool copy (shell, apply_patch, computer).
 *
 * - `needsApproval`: the policy's verdict composed with the tool's own setting,
 *   as for function tools (policy allow -> the tool's own setting decides).
 * - `onApproval` (shell, apply_patch): the SDK calls the tool's `onApproval`
 *   whenever `needsApproval` says yes, and its answer settles the call. A
 *   handler written for the tool's own approvals must not answer one the
 *   *policy* asked for (`async () => ({ approve: true })` would approve it with
 *   no human), so for those the copy gives no answer and the run pauses.
 */
import type { RunContext, RunToolApprovalItem } from '@openai/agents';
import type { CallGate } from './call-gate.ts';

type ApprovalPredicate = (runContext: RunContext<any>, payload: any, callId?: string) => Promise<boolean>;
type ApprovalAnswer = { approve: boolean; reason?: string };

interface LocalTool {
  readonly needsApproval: ApprovalPredicate | boolean;
  readonly onApproval?: (runContext: RunContext<any>, item: RunToolApprovalItem) => Promise<ApprovalAnswer>;
}

// The SDK settles a call only on `approve === true` or `false`; anything else leaves it pending (an interruption).
const NO_ANSWER = Object.freeze({}) as ApprovalAnswer;

export function approvalFields(
  tool: LocalTool,
  flow: CallGate,
  /** The payload of an approval item's raw call, as `needsApproval` received it. */
  payloadOf: (rawItem: RunToolApprovalItem['rawItem']) => unknown,
): Partial<LocalTool> {
  if (!flow.pauses) return {};
  const own = tool.needsApproval;
  const needsApproval: ApprovalPredicate = (runContext, payload, callId) =>
    flow.needsApproval(runContext, payload, callId, async () =>
      typeof own === 'function' ? own(runContext, payload, callId) : own === true,
    );
  const onApproval = tool.onApproval;
  if (!onApproval) return { needsApproval };
  return {
    needsApproval,
    onApproval: async (runContext, item) => {
      const raw = item.rawItem as { callId?: string };
      return flow.askedByPolicy(runContext, payloadOf(item.rawItem), raw.callId)
        ? NO_ANSWER
        : onApproval(runContext, item);
    },
  };
}

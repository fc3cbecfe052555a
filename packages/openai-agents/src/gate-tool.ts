/**
 * Gates one function tool (a plain tool, an agent used as a tool, or a tool
 * from an MCP server) by returning a copy with two fields replaced:
 *
 * - `invoke` is the enforcement point. It receives the raw JSON string the
 *   model produced and makes the one authoritative decision on it
 *   (`enforcer.decide` parses it once, strictly: duplicate keys, non-finite
 *   numbers... are denied). Allowed calls run the original `invoke` with
 *   `JSON.stringify(snapshot)`, so the tool parses exactly the decided value.
 *   Blocked calls return the decision text as the tool's output. It never
 *   throws: a throw would abort the whole run.
 * - `needsApproval` maps `approval_required` onto the SDK's native pause. The
 *   SDK calls it before `invoke` with its own parsed copy of the arguments; it
 *   only predicts the outcome silently (`enforcer.preview`), and records a decision and
 *   an approval request only for calls that need one.
 *
 * Tracing (`@hexgate/tracing`, on only when a tracer provider is registered):
 * a call that runs is wrapped in `traceToolCall` (a guardrail observation with
 * the tool's execution inside it); a call that does not run is a
 * `recordDecision` (denied, approval requested here in `needsApproval`, or
 * approval rejected). Either way one guardrail per decision on a tool call.
 *
 * Why not an input guardrail for deny: a guardrail cannot change what the tool
 * runs with (the SDK re-parses the raw string itself), and it runs after
 * `needsApproval`. The cost of replacing `invoke`: the SDK's pre-approval
 * schema parse and MCP binding (WeakMaps keyed by `invoke`) no longer apply to
 * the copy; invalid input is still rejected by the original `invoke` itself.
 */
import type { Decision, FrozenArgs } from '@hexgate/core';
import { type ApprovalInfo, recordDecision, traceToolCall } from '@hexgate/tracing';
import type { FunctionTool, RunContext } from '@openai/agents';
import { ApprovalBook, askInline, tryHash } from './approvals.ts';
import { type Gate, resolveUser, textFor } from './options.ts';

type AnyFunctionTool = FunctionTool<any, any, any>;

export function gateFunctionTool<T extends AnyFunctionTool>(tool: T, agentName: string, gate: Gate): T {
  const { enforcer, book } = gate;
  const original = tool.invoke;
  const ownApproval = tool.needsApproval;
  const call = (args: unknown, runContext: RunContext<any> | undefined) => ({
    tool: tool.name,
    args,
    agentName,
    user: resolveUser(runContext),
  });

  /**
   * The answer to an approval the SDK was given for this call: approved only
   * if it covers the approval that was requested for it; undefined when the
   * SDK has no answer of ours (no approval given, or `approvalHandler` in use).
   */
  const sdkApproval = (
    runContext: RunContext<any>,
    callId: string | undefined,
    decision: Decision,
    args: FrozenArgs,
  ): ApprovalInfo | undefined => {
    // With an `approvalHandler`, policy approvals go through it; an SDK approval is the tool's own.
    if (gate.options.approvalHandler || callId === undefined) return undefined;
    if (runContext?.isToolApproved?.({ toolName: tool.name, callId }) !== true) return undefined;
    // Bound to the user (the key) and the arguments it was requested for. No
    // binding at all (another user, or a sticky `alwaysApprove` covering a
    // later call) approves nothing.
    const binding = book.take(ApprovalBook.key(decision.userId, tool.name, callId));
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

  const invoke: T['invoke'] = async (runContext, input, details) => {
    const { decision, args } = enforcer.decide(call(input, runContext));
    const callId = details?.toolCall?.callId;
    let approval: ApprovalInfo | undefined;
    if (decision.effective === 'approval_required' && args !== undefined) {
      approval = sdkApproval(runContext, callId, decision, args) ?? (await askInline(gate, decision, args));
    } else if (callId !== undefined) {
      book.take(ApprovalBook.key(decision.userId, tool.name, callId)); // the policy changed since the request: drop it
    }
    const options = approval ? { approval } : {};
    if (args !== undefined && (decision.effective === 'allow' || approval?.status === 'approved')) {
      // Only throws for a decision that does not let the tool run, which this branch excludes.
      return traceToolCall(decision, args, () => original(runContext, JSON.stringify(args), details), options);
    }
    recordDecision(decision, args ?? input, options); // no snapshot: the tracer parses the raw text itself
    return textFor(gate, decision);
  };

  // Inline approvals and shadow mode never pause the run: keep the tool's own approval policy untouched.
  if (gate.options.approvalHandler || enforcer.mode === 'shadow') return { ...tool, invoke };

  const needsApproval: T['needsApproval'] = async (runContext, input, callId) => {
    const verdict = policyNeedsApproval(runContext, input, callId);
    if (verdict === 'deny') return false; // `invoke` will deny it; do not ask a human first
    return verdict === 'approval' || ownApproval(runContext, input, callId);
  };

  const policyNeedsApproval = (
    runContext: RunContext<any>,
    input: unknown,
    callId: string | undefined,
  ): 'approval' | Decision['outcome'] => {
    try {
      const outcome = enforcer.preview(call(input, runContext));
      if (outcome !== 'approval_required' || callId === undefined) return outcome;
      const key = ApprovalBook.key(resolveUser(runContext)?.id, tool.name, callId);
      const known = book.peek(key);
      // The same request surfacing again (e.g. a resume without an answer): already recorded.
      if (known && known.hash === tryHash(input)) return 'approval';
      const { decision, args } = enforcer.decide(call(input, runContext));
      if (decision.effective !== 'approval_required' || !args) return decision.effective;
      book.bind(key, { decision, args, hash: tryHash(args) ?? '' });
      enforcer.reportApproval({ status: 'requested', decision, args });
      recordDecision(decision, args, { approval: { status: 'requested' } });
      return 'approval';
    } catch {
      // `invoke` decides again and fails closed; a throw here would abort the run.
      return 'allow';
    }
  };

  return { ...tool, invoke, needsApproval };
}

/**
 * One tool call through the policy: decide (with the caller passed
 * explicitly), then either hand back the frozen snapshot to run or the
 * tool result to return instead. `approval_required` goes to the pluggable
 * approver when there is one. Shared by the middleware and the proxy.
 */
import { type ApprovalHandler, askApproval, type Enforcer, type FrozenArgs, hashArgs, type User } from '@hexgate/core';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { asCaller } from './caller-scope.ts';
import { toRejectedApprovalResult, toToolResult } from './to-tool-result.ts';

export interface GateContext {
  readonly enforcer: Enforcer;
  /** Read per call: the proxy learns the server's name during `initialize`. */
  readonly agentName: () => string | undefined;
  readonly approvalHandler?: ApprovalHandler | undefined;
  readonly approvalTimeoutMs?: number | undefined;
}

export type CallVerdict = { readonly run: FrozenArgs } | { readonly result: CallToolResult };

export async function decideCall(
  ctx: GateContext,
  call: { readonly tool: string; readonly args: unknown; readonly user: User | undefined },
): Promise<CallVerdict> {
  const agentName = ctx.agentName();
  const { decision, args } = asCaller(call.user, () =>
    ctx.enforcer.decide({
      tool: call.tool,
      args: call.args,
      ...(call.user ? { user: call.user } : {}),
      ...(agentName !== undefined ? { agentName } : {}),
    }),
  );
  if (args === undefined) return { result: toToolResult(decision) };
  if (decision.effective === 'allow') return { run: args };
  if (decision.effective === 'approval_required' && ctx.approvalHandler) {
    ctx.enforcer.reportApproval({ status: 'requested', decision, args });
    const answer = await askApproval(
      ctx.approvalHandler,
      { decision, args, argsHash: hashArgs(args) },
      ctx.approvalTimeoutMs !== undefined ? { timeoutMs: ctx.approvalTimeoutMs } : {},
    );
    const status = answer.approved ? 'approved' : answer.reason.includes('timed out') ? 'expired' : 'rejected';
    ctx.enforcer.reportApproval({ status, decision, args, reason: answer.reason });
    // The approval was given for exactly this snapshot; it is what runs.
    return answer.approved ? { run: args } : { result: toRejectedApprovalResult(decision, answer.reason) };
  }
  return { result: toToolResult(decision) };
}

/**
 * One tool call through the policy: decide (with the caller passed
 * explicitly), then either hand back the frozen snapshot to run or the
 * tool result to return instead. `approval_required` goes to the pluggable
 * approver when there is one. Shared by the middleware and the proxy.
 *
 * Tracing: a call that does not run is recorded here (`recordDecision`, a
 * WARNING guardrail with `toolRan: false`), because only here is it known
 * why it did not run (denied, pending, approval rejected or expired). A call
 * that runs is recorded by whoever runs it: `runAllowed` (the tool runs in
 * this process) or `recordForwarded` (the proxy hands it to its server).
 */
import {
  type ApprovalHandler,
  askApproval,
  type Decision,
  type Enforcer,
  type FrozenArgs,
  hashArgs,
  type User,
} from '@hexgate/core';
import { type ApprovalInfo, recordDecision, traceToolCall } from '@hexgate/tracing';
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

/** The call may run with `run` (the decided snapshot); `approval` is set when an approver let it through. */
export interface RunVerdict {
  readonly run: FrozenArgs;
  readonly decision: Decision;
  readonly approval?: ApprovalInfo;
}

export type CallVerdict = RunVerdict | { readonly result: CallToolResult };

const APPROVED: ApprovalInfo = Object.freeze({ status: 'approved' });

export async function decideCall(
  ctx: GateContext,
  call: {
    readonly tool: string;
    readonly args: unknown;
    readonly user: User | undefined;
    /** The request's cancellation: a call cancelled while its approval is pending never runs. */
    readonly signal?: AbortSignal | undefined;
  },
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
  if (args === undefined) {
    recordDecision(decision, call.args); // rejected arguments: redacted by the tracer like any others
    return { result: toToolResult(decision) };
  }
  if (decision.effective === 'allow') return { run: args, decision };
  if (decision.effective === 'approval_required' && ctx.approvalHandler) {
    ctx.enforcer.reportApproval({ status: 'requested', decision, args });
    const answer = await askApproval(
      ctx.approvalHandler,
      { decision, args, argsHash: hashArgs(args) },
      {
        ...(ctx.approvalTimeoutMs !== undefined ? { timeoutMs: ctx.approvalTimeoutMs } : {}),
        ...(call.signal ? { signal: call.signal } : {}),
      },
    );
    const { status, reason } = answer;
    ctx.enforcer.reportApproval({ status, decision, args, reason });
    // The approval was given for exactly this snapshot; it is what runs.
    if (answer.approved) return { run: args, decision, approval: APPROVED };
    recordDecision(decision, args, { approval: { status, reason } });
    return { result: toRejectedApprovalResult(decision, reason) };
  }
  // deny, or approval_required with no approver: pending (`toolStatus: 'pending_approval'`).
  recordDecision(decision, args);
  return { result: toToolResult(decision) };
}

/** MCP reports tool failures as results: an `isError` result marks the traced execution ERROR. */
const isErrorResult = (result: unknown): boolean => (result as { isError?: unknown } | null)?.isError === true;

/**
 * Runs an allowed (or approved) call in this process as a traced tool
 * execution. Without a tracer provider this is just `execute()`.
 */
export function runAllowed<R>(verdict: RunVerdict, execute: () => R): R {
  return traceToolCall(verdict.decision, verdict.run, execute, {
    ...(verdict.approval ? { approval: verdict.approval } : {}),
    isError: isErrorResult,
  });
}

/** An allowed call that another process executes (the proxy's server): recorded as `delegated`. */
export function recordForwarded(verdict: RunVerdict): void {
  recordDecision(verdict.decision, verdict.run, {
    toolRan: true,
    ...(verdict.approval ? { approval: verdict.approval } : {}),
  });
}

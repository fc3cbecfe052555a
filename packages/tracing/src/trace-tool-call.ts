/**
 * Policy decisions as Langfuse observations.
 *
 * Layout (one choice, used everywhere):
 *   policy:<tool>   asType 'guardrail'  the decision, for every gated call. It
 *                                       spans the whole gated call, so it can
 *                                       say whether the tool then ran and how
 *                                       that went.
 *     tool:<tool>   asType 'tool'       the execution, only when the tool ran.
 *
 * Levels: a call the policy did not simply allow (deny, approval required or
 * rejected, and in shadow mode a would-be denial) is WARNING; an approved or
 * allowed call is DEFAULT; a tool that throws or reports an error is ERROR on
 * its `tool:` observation. Arguments are recorded only through core's `redact`
 * (raw JSON text parsed first, see recorded-args.ts), once per call.
 */

import { type ApprovalStatus, type Decision, decisionText, PolicyDeniedError, type User } from '@hexgate/core';
import {
  LangfuseOtelSpanAttributes,
  propagateAttributes,
  startActiveObservation,
  startObservation,
} from '@langfuse/tracing';
import { context, type Span } from '@opentelemetry/api';
import { isTracingEnabled } from './enabled.ts';
import { recordedArgs } from './recorded-args.ts';
import { activeRun, rememberArgs } from './run-state.ts';
import { clipText, errorMessage, once, safely, warnOnce } from './safe.ts';
import { secretValues } from './secret-values.ts';
import { afterResult, isAsyncIterable, isPromiseLike, observeIteration, type Settled } from './settle.ts';

/** What happened with a human approval, when the decision required one. */
export interface ApprovalInfo {
  readonly status: ApprovalStatus;
  readonly approver?: string;
  readonly reason?: string;
}

export interface ToolCallTraceOptions<T = unknown> {
  /** For an `approval_required` decision: only `{ status: 'approved' }` lets the tool run. */
  readonly approval?: ApprovalInfo;
  /**
   * Hosts that report failures as results rather than exceptions (an MCP
   * `{ isError: true }` result, a LangChain ToolMessage with status 'error'):
   * return true for those so the execution is marked ERROR.
   */
  readonly isError?: (result: T) => boolean;
}

export interface RecordDecisionOptions {
  readonly approval?: ApprovalInfo;
  /**
   * Whether the tool runs after this decision. Default false: `recordDecision`
   * is for calls that do not run (denied, approval pending or rejected). Pass
   * true when the host runs an allowed tool outside `traceToolCall`.
   */
  readonly toolRan?: boolean;
}

/** How the gated call ended, as recorded in the guardrail's metadata (`toolStatus`). */
export type ToolStatus = 'ok' | 'error' | 'cancelled' | 'blocked' | 'pending_approval' | 'delegated' | 'unknown';

/**
 * Traces one gated tool call and runs it: `execute` is called only when the
 * decision lets the tool run (effective `allow`, or `approval_required` with
 * `approval.status === 'approved'`). Otherwise the decision is recorded with
 * `toolRan: false` and a `PolicyDeniedError` is thrown, so a mistake in the
 * caller fails closed; for calls you know will not run, use `recordDecision`.
 * Returns exactly what `execute` returns (a promise, or an async iterable that
 * is observed until consumed). With no tracer provider this only gates.
 */
export function traceToolCall<R>(
  decision: Decision,
  args: unknown,
  execute: () => R,
  options: ToolCallTraceOptions<Awaited<R>> = {},
): R {
  const permitted = mayRun(decision, options.approval);
  if (!isTracingEnabled()) {
    if (!permitted) throw blocked(decision);
    return execute();
  }
  if (!permitted) {
    record(decision, args, { approval: options.approval, toolRan: false });
    throw blocked(decision);
  }
  let entered = false;
  try {
    const label = toolLabel(decision);
    return withCallerAttributes(decision, undefined, () =>
      startActiveObservation(
        `policy:${label}`,
        (guardrail) => {
          const run = activeRun();
          let recorded: unknown;
          safely('recording a decision', () => {
            rememberArgs(run, args);
            recorded = recordedArgs(args);
            guardrail.update(decisionAttributes(decision, recorded, options.approval));
            if (!run) attributeCaller(guardrail.otelSpan, decision, undefined);
            if (run) run.decisions[decision.outcome]++;
          });
          return startActiveObservation(
            `tool:${label}`,
            (tool) => {
              entered = true;
              safely('recording a tool', () => {
                tool.update({ input: recorded });
                if (!run) attributeCaller(tool.otelSpan, decision, undefined);
              });
              const done = (settled: Settled) =>
                safely('ending a tool', () => {
                  const failed =
                    settled.status === 'error' ||
                    (settled.status === 'ok' && options.isError !== undefined && isHostError(settled.value, options));
                  const status: ToolStatus = failed ? 'error' : settled.status;
                  const message =
                    settled.status === 'error'
                      ? errorMessage(settled.error, secretValues(args))
                      : 'the tool reported an error';
                  tool.update({
                    output: { status },
                    ...(failed ? { level: 'ERROR' as const, statusMessage: message } : {}),
                  });
                  tool.end();
                  guardrail.update({ metadata: { toolRan: true, toolStatus: status } });
                  guardrail.end();
                  if (run) {
                    run.toolsRan++;
                    if (failed) run.toolErrors++;
                  }
                });
              const end = once(done);
              let result: R;
              try {
                result = execute();
              } catch (error) {
                end({ status: 'error', error });
                throw error;
              }
              if (!isPromiseLike(result) && isAsyncIterable(result)) {
                // A streaming tool (AI SDK execute returning an async iterable).
                return observeIteration(result, context.active(), end) as R;
              }
              return afterResult(result, end);
            },
            { asType: 'tool', endOnExit: false },
          );
        },
        { asType: 'guardrail', endOnExit: false },
      ),
    );
  } catch (error) {
    if (entered) throw error;
    warnOnce('tool-failed', `could not start a tool observation: ${errorMessage(error)}`);
    return execute();
  }
}

/**
 * Records a decision whose tool does not run here: denied, approval pending
 * (`approval: { status: 'requested' }`) or rejected/expired, or allowed but
 * executed by the host outside `traceToolCall` (`toolRan: true`). One
 * `policy:<tool>` guardrail observation, ended at once. Never throws.
 */
export function recordDecision(decision: Decision, args: unknown, options: RecordDecisionOptions = {}): void {
  if (!isTracingEnabled()) return;
  record(decision, args, { approval: options.approval, toolRan: options.toolRan ?? false });
}

/** Internal form: `toolRan: undefined` means "not known here" (the decision listener). */
export function record(
  decision: Decision,
  args: unknown,
  options: { approval: ApprovalInfo | undefined; toolRan: boolean | undefined },
  user?: User,
): void {
  safely('recording a decision', () =>
    withCallerAttributes(decision, user, () => {
      const attributes = decisionAttributes(decision, recordedArgs(args), options.approval);
      const status = statusWithoutExecution(decision, options);
      const guardrail = startObservation(`policy:${toolLabel(decision)}`, attributes, { asType: 'guardrail' });
      const run = activeRun();
      rememberArgs(run, args);
      if (!run) attributeCaller(guardrail.otelSpan, decision, user);
      guardrail.update({
        metadata: { ...(options.toolRan === undefined ? {} : { toolRan: options.toolRan }), toolStatus: status },
      });
      guardrail.end();
      if (run) run.decisions[decision.outcome]++;
    }),
  );
}

function mayRun(decision: Decision, approval: ApprovalInfo | undefined): boolean {
  if (decision.effective === 'allow') return true;
  return decision.effective === 'approval_required' && approval?.status === 'approved';
}

function blocked(decision: Decision): PolicyDeniedError {
  return new PolicyDeniedError(decision, decisionText(decision));
}

function statusWithoutExecution(
  decision: Decision,
  options: { approval: ApprovalInfo | undefined; toolRan: boolean | undefined },
): ToolStatus {
  if (options.toolRan === undefined) return 'unknown';
  if (options.toolRan) return 'delegated';
  if (decision.effective === 'approval_required' && (!options.approval || options.approval.status === 'requested')) {
    return 'pending_approval';
  }
  return 'blocked';
}

/** `recorded`: the arguments as `recordedArgs` made them fit for a trace. */
/**
 * The tool name for span names and fields. Core records whatever name the
 * model asked for, of any length: a megabyte-long name would otherwise be
 * exported several times per call (name, input, metadata, reason) and can
 * get the exporter's whole batch refused.
 */
export function toolLabel(decision: Decision): string {
  return clipText(decision.tool, 200);
}

function decisionAttributes(decision: Decision, recorded: unknown, approval: ApprovalInfo | undefined) {
  const flagged = decision.outcome !== 'allow' && approval?.status !== 'approved';
  const tool = toolLabel(decision);
  // The reason quotes the tool name.
  const reason = clipText(decision.reason, 1_024);
  const statusMessage = !flagged
    ? undefined
    : decision.mode === 'shadow' && decision.effective === 'allow'
      ? `shadow mode: the policy would ${decision.outcome === 'deny' ? 'deny' : 'require approval'}: ${reason}`
      : reason;
  return {
    input: { tool, args: recorded },
    output: {
      outcome: decision.outcome,
      effective: decision.effective,
      reason,
      violations: [...decision.violations],
    },
    level: flagged ? ('WARNING' as const) : ('DEFAULT' as const),
    ...(statusMessage ? { statusMessage } : {}),
    metadata: {
      decisionId: decision.id,
      tool,
      outcome: decision.outcome,
      effective: decision.effective,
      mode: decision.mode,
      reason,
      violations: [...decision.violations],
      decidingRole: decision.decidingRole ?? null,
      roles: [...decision.roles],
      agentName: decision.agentName ?? null,
      policyDigest: decision.policyDigest,
      evaluationMs: decision.evaluationMs,
      decidedAt: decision.timestamp,
      ...(approval
        ? {
            approval: {
              status: approval.status,
              ...(approval.approver ? { approver: approval.approver } : {}),
              ...(approval.reason ? { reason: approval.reason } : {}),
            },
          }
        : {}),
    },
  };
}

/**
 * Outside a hexgate run (an adapter that traces decisions only, or the
 * listener) the guardrail may be a trace of its own: give it the caller's
 * user and session so it is still attributed. Inside a run they are already
 * propagated. Two ways, because propagation needs a context manager:
 * `withCallerAttributes` propagates to everything started inside `fn`, and
 * `attributeCaller` sets them on one span directly.
 */
export function withCallerAttributes<T>(decision: Decision, user: User | undefined, fn: () => T): T {
  if (activeRun()) return fn();
  const userId = user?.id ?? decision.userId;
  const sessionId = user?.sessionId ?? decision.sessionId;
  if (!userId && !sessionId) return fn();
  return propagateAttributes(
    {
      ...(userId ? { userId: userId.slice(0, 200) } : {}),
      ...(sessionId ? { sessionId: sessionId.slice(0, 200) } : {}),
    },
    fn,
  );
}

function attributeCaller(span: Span, decision: Decision, user: User | undefined): void {
  const userId = user?.id ?? decision.userId;
  const sessionId = user?.sessionId ?? decision.sessionId;
  if (userId) span.setAttribute(LangfuseOtelSpanAttributes.TRACE_USER_ID, userId);
  if (sessionId) span.setAttribute(LangfuseOtelSpanAttributes.TRACE_SESSION_ID, sessionId);
}

function isHostError<T>(value: unknown, options: ToolCallTraceOptions<T>): boolean {
  try {
    return options.isError?.(value as T) === true;
  } catch {
    return false;
  }
}

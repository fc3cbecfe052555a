/**
 * Inline approval: an application callback decides an `approval_required`
 * call. Only a literal `true` approves; anything else (false, "yes", a thrown
 * error, a timeout) rejects. Adapters use this for their `approvalHandler`.
 */
import type { FrozenArgs } from './args/snapshot-args.ts';
import type { Decision } from './decision.ts';
import { describeError } from './errors.ts';

export type ApprovalHandler = (request: ApprovalRequest) => unknown;

export interface ApprovalRequest {
  readonly decision: Decision;
  readonly args: FrozenArgs;
  /** sha256 of the arguments being approved (canonical JSON). */
  readonly argsHash: string;
  readonly signal: AbortSignal;
}

export interface ApprovalAnswer {
  readonly approved: boolean;
  /** `approved`; `expired` when the timeout ran out; `rejected` for any other answer, or a handler error. */
  readonly status: 'approved' | 'rejected' | 'expired';
  /** Why the call was rejected (`timeout`, `handler error`, or the handler's answer). */
  readonly reason: string;
}

export const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;

export interface AskApprovalOptions {
  /** How long the handler may take (default 5 minutes); then the call is `expired`. */
  readonly timeoutMs?: number;
  /**
   * The caller's own cancellation (e.g. the MCP request's `extra.signal`).
   * Aborting it rejects the call (it never runs, even if the handler later
   * says yes) and aborts the signal the handler was given.
   */
  readonly signal?: AbortSignal;
}

export async function askApproval(
  handler: ApprovalHandler,
  request: Omit<ApprovalRequest, 'signal'>,
  options: AskApprovalOptions = {},
): Promise<ApprovalAnswer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
  const cancelled: ApprovalAnswer = {
    approved: false,
    status: 'rejected',
    reason: 'the call was cancelled before it was approved',
  };
  if (options.signal?.aborted) return cancelled;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onCancel: (() => void) | undefined;
  const stopped = new Promise<ApprovalAnswer>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ approved: false, status: 'expired', reason: `approval timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    onCancel = () => {
      controller.abort();
      resolve(cancelled);
    };
    options.signal?.addEventListener('abort', onCancel, { once: true });
  });
  const answer = (async (): Promise<ApprovalAnswer> => {
    try {
      const result = await handler({ ...request, signal: controller.signal });
      return result === true
        ? { approved: true, status: 'approved', reason: 'approved' }
        : { approved: false, status: 'rejected', reason: 'approval was not granted' };
    } catch (e) {
      return {
        approved: false,
        status: 'rejected',
        reason: `approval handler failed: ${describeError(e)}`,
      };
    }
  })();
  try {
    const result = await Promise.race([answer, stopped]);
    // A yes that raced a cancellation still loses: the caller no longer wants the call.
    return result.approved && options.signal?.aborted ? cancelled : result;
  } finally {
    clearTimeout(timer);
    if (onCancel) options.signal?.removeEventListener('abort', onCancel);
  }
}

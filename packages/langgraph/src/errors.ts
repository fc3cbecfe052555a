/**
 * The one error this adapter throws at run time: a call needs human approval
 * and the graph has no way to ask for it. Thrown instead of letting the run
 * hang or silently skipping the approval.
 */
import { type Decision, HexgateError } from '@hexgate/core';

const BRAND = Symbol.for('@hexgate/langgraph.ApprovalUnavailableError');

export class ApprovalUnavailableError extends HexgateError {
  readonly decision: Decision;
  readonly [BRAND] = true;

  constructor(decision: Decision, cause?: unknown) {
    super(
      'APPROVAL_REQUIRED',
      `Tool '${decision.tool}' requires human approval (${decision.reason}), but this run cannot pause for it: ` +
        'compile the graph with a checkpointer (e.g. new MemorySaver()) and pass configurable.thread_id, ' +
        'or give hexgate an approvalHandler. The tool was not executed.',
      { cause },
    );
    this.decision = decision;
  }

  static override isInstance(value: unknown): value is ApprovalUnavailableError {
    return HexgateError.isInstance(value) && (value as unknown as Record<symbol, unknown>)[BRAND] === true;
  }
}

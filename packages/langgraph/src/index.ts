/**
 * @hexgate/langgraph public API. Anything exported here is public and
 * versioned; everything else is internal.
 */

export {
  type ApprovalInterrupt,
  type ApprovalResume,
  approve,
  type PendingApproval,
  pendingApprovals,
  reject,
} from './approval-interrupt.ts';
export { ApprovalUnavailableError } from './errors.ts';
export type { PolicyGateOptions, Refusal } from './gate.ts';
export { guardTools } from './guard-tools.ts';
export { policyMiddleware } from './middleware.ts';
export { type GraphLike, type GuardedGraph, type HexgateCallOptions, wrapLangGraphAgent } from './wrap-agent.ts';

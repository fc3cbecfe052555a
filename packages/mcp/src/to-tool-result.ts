/**
 * Maps a non-allow decision onto MCP's native "the tool failed" primitive: a
 * `CallToolResult` with `isError: true`. The model reads the text and can
 * recover (pick another tool, ask the user); the structured payload rides in
 * `_meta` for clients that want to branch on it programmatically.
 */
import { type Decision, decisionPayload, decisionText } from '@hexgate/core';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** `_meta` key carrying `decisionPayload(decision)` on every blocked call. */
export const DECISION_META_KEY = 'hexgate/decision';

/** The `isError` tool result for a `deny` or `approval_required` decision. */
export function toToolResult(decision: Decision): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: decisionText(decision) }],
    _meta: { [DECISION_META_KEY]: decisionPayload(decision) },
  };
}

/**
 * An `approval_required` call whose approval was refused (or timed out):
 * reported as a denial with the approver's reason, so the model does not ask
 * for the same approval again in a loop.
 */
export function toRejectedApprovalResult(decision: Decision, reason: string): CallToolResult {
  // core's reasons already read "approval was not granted" / "approval timed out ..." / "approval handler failed ...".
  const text = reason.startsWith('approval') ? reason : `approval was not granted: ${reason}`;
  return toToolResult(Object.freeze({ ...decision, outcome: 'deny', effective: 'deny', reason: text }));
}

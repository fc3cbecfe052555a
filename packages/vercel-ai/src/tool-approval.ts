/**
 * `hexgateToolApproval(options)`: the policy as ai@7's call-level
 * `toolApproval` hook, so every outcome uses the SDK's own wire format:
 *   allow             -> 'not-applicable' (or the tool's own `needsApproval`)
 *   deny              -> { type: 'denied', reason: '[policy_denied] ...' }
 *   approval_required -> { type: 'user-approval', reason }, which `useChat`
 *                        renders and answers with a `tool-approval-response`
 * On resume the SDK calls the hook again before executing an approved call;
 * the call is decided again and must match the approved arguments.
 */
import type { GenericToolApprovalFunction, ToolApprovalStatus, ToolSet } from 'ai';
import { gateCall } from './gate-call.ts';
import { originals, ownApproval } from './hexgate-tools.ts';
import { checkOptions, explicitUser, type HexgateAiOptions } from './options.ts';

// `toolName` comes from the model; read own properties only.
const own = (record: unknown, key: string): unknown =>
  record != null && Object.hasOwn(record as object, key) ? (record as Record<string, unknown>)[key] : undefined;

export function hexgateToolApproval<TOOLS extends ToolSet = ToolSet, RUNTIME_CONTEXT = unknown>(
  options: HexgateAiOptions,
  // `any`: the SDK infers the tools-context type from TOOLS at the call site.
): GenericToolApprovalFunction<TOOLS, any, RUNTIME_CONTEXT> {
  checkOptions(options, 'hexgateToolApproval');
  return async ({ toolCall, tools, toolsContext, runtimeContext, messages }): Promise<ToolApprovalStatus> => {
    const { toolName, toolCallId, input } = toolCall;
    const context = own(toolsContext, toolName);
    const tool = own(tools, toolName) as Parameters<typeof ownApproval>[0];
    const status = await gateCall(options, {
      tool: toolName,
      input,
      toolCallId,
      messages,
      user: explicitUser(options, context, runtimeContext),
      // Only a tool from `hexgateTools` runs (and is traced) in a gated execute.
      executes: tool !== undefined && originals.has(tool) && typeof tool.execute === 'function',
    });
    switch (status.type) {
      case 'allow': {
        return (await ownApproval(tool, input, { toolCallId, messages, context })) ? 'user-approval' : 'not-applicable';
      }
      case 'approved':
        return 'approved';
      default:
        return { type: status.type, reason: status.reason };
    }
  };
}

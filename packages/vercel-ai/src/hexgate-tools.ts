/**
 * `hexgateTools(tools, options)`: a new tool set whose `execute` functions
 * are gated by the policy. This is the enforcement point: whatever approval
 * configuration the app passes, a gated `execute` never runs a call the
 * policy did not allow (or a human did not approve), and it always runs with
 * the frozen snapshot that was decided.
 */
import { type Decision, decisionText, PolicyDeniedError } from '@hexgate/core';
import { recordDecision, traceToolCall } from '@hexgate/tracing';
import type { Tool, ToolExecutionOptions, ToolSet } from 'ai';
import { approvedBy, decideCall, type GateStatus, gateCall, type Handoff, takeHandoff } from './gate-call.ts';
import { checkOptions, explicitUser, type HexgateAiOptions } from './options.ts';

type AnyTool = Tool<unknown, unknown, unknown>;
type NeedsApproval = Exclude<AnyTool['needsApproval'], undefined>;
type ApprovalOptions = Parameters<Extract<NeedsApproval, (...args: never[]) => unknown>>[1];

/** Gated copy -> original tool, so `hexgateToolApproval` can honour the original's own `needsApproval`. */
export const originals = new WeakMap<object, AnyTool>();

/** The original tool's own approval setting, for calls the policy allows. */
export async function ownApproval(tool: AnyTool | undefined, input: unknown, options: ApprovalOptions) {
  const own = (tool && originals.get(tool)) ?? tool;
  const needs = typeof own?.needsApproval === 'function' ? await own.needsApproval(input, options) : own?.needsApproval;
  return needs === true;
}

function gateTool(name: string, original: AnyTool, options: HexgateAiOptions): AnyTool {
  const execute = original.execute;
  const executable = typeof execute === 'function';
  // A refused call answers with the decision text as its result, unless the
  // tool declares its own output: a string then breaks the tool's contract,
  // and with it the run (its `toModelOutput` reads fields of the output) or
  // the conversation (`validateUIMessages` rejects the stored output against
  // `outputSchema`). There the refusal is a tool error with the same text,
  // which the SDK hands to the model without going through either.
  const declaresOutput = original.outputSchema !== undefined || original.toModelOutput !== undefined;
  const refusal = (decision: Decision, text: string): string => {
    if (!declaresOutput) return text;
    const error = new PolicyDeniedError(decision, text);
    // The SDK gives the model `String(error)`: make it exactly the decision text.
    Object.defineProperty(error, 'toString', { value: () => text });
    throw error;
  };
  const gated = {
    ...original,
    // Used only when the app passes no call-level `toolApproval` (which takes
    // precedence in ai@7): `approval_required` still becomes the SDK's own
    // approval request. A boolean cannot carry a deny, so a denied call is
    // let through to the gated `execute`, which refuses it; a client-side
    // tool has no such second gate, so its denied call asks a human instead.
    needsApproval: async (input: unknown, approvalOptions: ApprovalOptions): Promise<boolean> => {
      const status: GateStatus = await gateCall(options, {
        tool: name,
        input,
        toolCallId: approvalOptions.toolCallId,
        messages: approvalOptions.messages,
        user: explicitUser(options, approvalOptions.context),
        executes: executable,
      });
      if (status.type === 'allow') return ownApproval(original, input, approvalOptions);
      return status.type === 'denied' ? !executable : true;
    },
  } as AnyTool;
  if (executable) {
    // Synchronous on purpose: a tool that streams (returns an AsyncIterable)
    // must get its iterable back unchanged.
    // Tracing: the call is traced around its execution here; a call that
    // does not run was recorded by the hook that decided it, or here when
    // `execute` had to decide itself.
    gated.execute = (input: unknown, executeOptions: ToolExecutionOptions<unknown>) => {
      const handoff: Omit<Handoff, 'tool' | 'input'> | undefined = takeHandoff(
        executeOptions.messages,
        executeOptions.toolCallId,
        name,
        input,
      );
      if (handoff?.denial !== undefined) return refusal(handoff.enforcement.decision, handoff.denial);
      const { decision, args } =
        handoff?.enforcement ?? decideCall(options, name, input, explicitUser(options, executeOptions.context));
      const approved = handoff?.approved === true;
      const runs = decision.effective === 'allow' || (decision.effective === 'approval_required' && approved);
      if (runs && args !== undefined) {
        const approval = approved ? { approval: approvedBy(handoff?.approvalReason) } : {};
        return traceToolCall(decision, args, () => execute(args, executeOptions), approval);
      }
      if (!handoff) recordDecision(decision, args ?? input);
      return refusal(decision, decisionText(decision));
    };
  }
  originals.set(gated, original);
  return gated;
}

/**
 * Returns a new tool set (the input and its tools are left untouched) whose
 * calls are decided by `options.enforcer` for the user in scope.
 */
export function hexgateTools<TOOLS extends ToolSet>(tools: TOOLS, options: HexgateAiOptions): TOOLS {
  checkOptions(options, 'hexgateTools');
  const gated: Record<string, AnyTool> = {};
  for (const [name, tool] of Object.entries(tools)) gated[name] = gateTool(name, tool as AnyTool, options);
  return gated as TOOLS;
}

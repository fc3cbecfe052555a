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
 * - `needsApproval` maps `approval_required` onto the SDK's native pause (see
 *   `call-gate.ts`, which holds the flow all gated calls share).
 *
 * Tracing (`@hexgate/tracing`, on only when a tracer provider is registered):
 * a call that runs is wrapped in `traceToolCall` (a guardrail observation with
 * the tool's execution inside it); a call that does not run is a
 * `recordDecision` (denied, approval requested in `needsApproval`, or
 * approval rejected). Either way one guardrail per decision on a tool call.
 *
 * Why not an input guardrail for deny: a guardrail cannot change what the tool
 * runs with (the SDK re-parses the raw string itself), and it runs after
 * `needsApproval`. The cost of replacing `invoke`: the SDK's pre-approval
 * schema parse and MCP binding (WeakMaps keyed by `invoke`) no longer apply to
 * the copy; invalid input is still rejected by the original `invoke` itself.
 */
import type { FunctionTool } from '@openai/agents';
import { createCallGate } from './call-gate.ts';
import type { Gate } from './options.ts';

type AnyFunctionTool = FunctionTool<any, any, any>;

export function gateFunctionTool<T extends AnyFunctionTool>(tool: T, agentName: string, gate: Gate): T {
  const flow = createCallGate(gate, tool.name, agentName);
  const original = tool.invoke;

  const invoke: T['invoke'] = async (runContext, input, details) => {
    const verdict = await flow.decide(input, {
      runContext,
      callId: details?.toolCall?.callId,
      signal: details?.signal,
    });
    return flow.execute(
      verdict,
      (args) => original(runContext, JSON.stringify(args), details),
      (text) => text,
    );
  };
  if (!flow.pauses) return { ...tool, invoke };

  const needsApproval: T['needsApproval'] = (runContext, input, callId) =>
    flow.needsApproval(runContext, input, callId, () => tool.needsApproval(runContext, input, callId));
  return { ...tool, invoke, needsApproval };
}

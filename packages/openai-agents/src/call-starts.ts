/**
 * Tells a gated local tool (shell, apply_patch, computer) which call is about
 * to run. The SDK hands `Shell.run` only the action, the editor no call id and
 * computer methods only their own arguments, yet a decision needs the run
 * context (the user carried in it) and an approval needs the call id. Right
 * before it runs one of these executors, the SDK emits `agent_tool_start`
 * (run context, tool, `{ toolCall }`) on the agent whose turn it is: every
 * gated agent copy passes that event here, to the gated tool it names.
 */
import type { RunContext } from '@openai/agents';

export type CallStartListener = (runContext: RunContext<any>, toolCall: Record<string, any>) => void;

const listeners = new WeakMap<object, CallStartListener>();

/** `tool` is the gated copy the SDK will name in the event. */
export function onCallStart(tool: object, listener: CallStartListener): void {
  listeners.set(tool, listener);
}

/** The arguments of one `agent_tool_start` event on a gated agent. Never throws. */
export function noteCallStart([runContext, tool, details]: readonly unknown[]): void {
  if (typeof tool !== 'object' || tool === null || typeof runContext !== 'object' || runContext === null) return;
  const toolCall = (details as { toolCall?: unknown } | undefined)?.toolCall;
  if (typeof toolCall !== 'object' || toolCall === null) return;
  listeners.get(tool)?.(runContext as RunContext<any>, toolCall as Record<string, any>);
}

/**
 * Gates a local shell tool (`shellTool({ shell })`): a copy whose `shell` is a
 * new `Shell` that decides every action before the application's shell sees
 * it. Policy tool name: the tool's `name` ('shell' by default); arguments: the
 * `ShellAction` (`{ commands, timeoutMs?, maxOutputLength? }`), so a policy can
 * constrain `args.commands`. An allowed action runs with the decided snapshot;
 * a blocked one never reaches the shell and the model gets the decision text
 * as the command's stderr, in the shape of the SDK's own rejected shell call.
 *
 * A hosted shell (`environment: container_*`) runs at the provider, inside the
 * model call: nothing runs here, so it passes through unchanged. Which is which
 * follows the SDK's own rule (`environment?.type ?? 'local'`), so every shell
 * the SDK would run here is gated.
 */
import type { Shell, ShellAction, ShellResult, ShellTool } from '@openai/agents';
import { type CallSite, createCallGate, UNKNOWN_SITE } from './call-gate.ts';
import { onCallStart } from './call-starts.ts';
import { approvalFields } from './local-approval.ts';
import type { Gate } from './options.ts';

export function gateShellTool(tool: ShellTool, agentName: string, gate: Gate): ShellTool {
  const original = tool.shell;
  if (!original || (tool.environment?.type ?? 'local') !== 'local') return tool;
  const flow = createCallGate(gate, tool.name, agentName);
  // `Shell.run` gets only the action: where it runs is noted when the call starts, keyed by that action,
  // and used once (the SDK calls `run` right after the start event, for every start).
  const sites = new WeakMap<object, CallSite>();
  const shell: Shell = {
    run: async (action) => {
      const site = sites.get(action) ?? UNKNOWN_SITE;
      sites.delete(action);
      const verdict = await flow.decide(action, site);
      return flow.execute(verdict, (args) => original.run(args as unknown as ShellAction), blockedResult);
    },
  };
  const gated = { ...tool, shell, ...approvalFields(tool, flow, (item) => (item as { action?: unknown }).action) };
  onCallStart(gated, (runContext, toolCall) => {
    if (typeof toolCall.action === 'object' && toolCall.action !== null)
      sites.set(toolCall.action, { runContext, callId: toolCall.callId });
  });
  return gated as ShellTool;
}

/** What the SDK itself returns for a rejected shell call: no output, the reason on stderr, no exit code. */
function blockedResult(text: string): ShellResult {
  return { output: [{ stdout: '', stderr: text, outcome: { type: 'exit', exitCode: null } }] };
}

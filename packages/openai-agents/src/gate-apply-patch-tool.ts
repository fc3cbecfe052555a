/**
 * Gates an apply_patch tool (`applyPatchTool({ editor })`): a copy whose
 * `editor` is a new `Editor` that decides every operation before the
 * application's editor sees it. Policy tool name: the tool's `name`
 * ('apply_patch' by default); arguments: the `ApplyPatchOperation`
 * (`{ type: 'create_file' | 'update_file' | 'delete_file', path, diff? }`), so a
 * policy can constrain `args.path`. An allowed operation runs with the decided
 * snapshot; a blocked one never reaches the editor and the model gets the
 * decision text as a `failed` result, like the SDK's own rejected call.
 */
import type { ApplyPatchOperation, ApplyPatchTool, Editor } from '@openai/agents';
import { createCallGate } from './call-gate.ts';
import { onCallStart } from './call-starts.ts';
import { approvalFields } from './local-approval.ts';
import type { Gate } from './options.ts';

type Method = 'createFile' | 'updateFile' | 'deleteFile';
type Context = Parameters<Editor['createFile']>[1];
type Result = Awaited<ReturnType<Editor['createFile']>>;

export function gateApplyPatchTool(tool: ApplyPatchTool, agentName: string, gate: Gate): ApplyPatchTool {
  const original = tool.editor;
  const flow = createCallGate(gate, tool.name, agentName);
  // The editor gets the run context but no call id: that is noted when the call starts, keyed by the
  // operation, and used once (the SDK calls the editor right after the start event, for every start).
  const callIds = new WeakMap<object, string>();
  const gatedMethod =
    (method: Method) =>
    async (operation: ApplyPatchOperation, context?: Context): Promise<Result> => {
      const site = { runContext: context?.runContext, callId: callIds.get(operation) };
      callIds.delete(operation);
      const verdict = await flow.decide(operation, site);
      // The SDK picked `method` from `operation.type`, which the snapshot shares.
      const run = (args: unknown) =>
        (original[method] as (op: unknown, c?: Context) => Promise<Result>).call(original, args, context);
      return flow.execute(verdict, run, (text) => ({ status: 'failed', output: text }));
    };
  const editor: Editor = {
    createFile: gatedMethod('createFile'),
    updateFile: gatedMethod('updateFile'),
    deleteFile: gatedMethod('deleteFile'),
  };
  const gated = {
    ...tool,
    editor,
    ...approvalFields(tool, flow, (item) => (item as { operation?: unknown }).operation),
  };
  onCallStart(gated, (_runContext, toolCall) => {
    if (typeof toolCall.operation === 'object' && toolCall.operation !== null)
      callIds.set(toolCall.operation, toolCall.callId);
  });
  return gated as ApplyPatchTool;
}

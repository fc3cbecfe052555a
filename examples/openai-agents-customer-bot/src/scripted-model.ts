/**
 * The offline stand-in for the LLM: the SDK's own `ScriptedModel`, with one
 * stateless responder per model call. Each conversation is a list of tool
 * calls; the responder finds the conversation from the user's message and the
 * next call from how many tool results the input already holds, so it gives
 * the same answers however runs interleave, pause and resume. After the last
 * call it writes a reply from the tool outputs it was given, including the
 * policy texts of blocked calls, as a real model would.
 */
import { assistantMessage, functionCall, modelResponder, ScriptedModel } from '@openai/agents/testing';

export interface ScriptedCall {
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

type Item = Record<string, any>;

export function scriptedSupportModel(conversations: ReadonlyMap<string, readonly ScriptedCall[]>): ScriptedModel {
  const respond = modelResponder(({ request }) => {
    const input = (Array.isArray(request.input) ? request.input : []) as Item[];
    const message = String(input.find((i) => i.role === 'user')?.content ?? request.input);
    const script = conversations.get(message) ?? [];
    const results = input.filter((i) => i.type === 'function_call_result');
    const next = script[results.length];
    if (next) return [functionCall(next.tool, next.args, { callId: `call-${results.length + 1}` })];
    return [assistantMessage(summarise(results))];
  });
  return new ScriptedModel(Array.from({ length: 64 }, () => respond));
}

function summarise(results: Item[]): string {
  const lines = results.map((r) => {
    const text = String(typeof r.output === 'string' ? r.output : (r.output?.text ?? ''));
    // The policy texts say why: `[policy_denied] Tool 'x' is denied by the agent policy: <why>. The tool was not executed.`
    const why = text.match(/: (.*?)\.? The tool was not executed\.$/)?.[1];
    if (text.startsWith('[policy_denied]')) return `- ${r.name}: blocked by policy (${why}).`;
    if (text.startsWith('[approval_required]')) return `- ${r.name}: needs an approval that was not given.`;
    return `- ${r.name}: ${text}`;
  });
  return ['Here is where things stand:', ...lines].join('\n');
}

/**
 * The offline model: LangChain's fake tool-calling chat model, scripted per
 * request. It plans a fixed list of tool-call steps, then summarizes the tool
 * results it got back (including the policy's refusals, as a real model would).
 */
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';

export type Step = { name: string; args: Record<string, unknown>; id: string }[];

export function offlineModel(scripts: Record<string, Step[]>) {
  const model = fakeModel();
  const reply = (messages: BaseMessage[]) => {
    const request = String(messages.find((m) => HumanMessage.isInstance(m))?.content);
    const step = (scripts[request] ?? [])[messages.filter((m) => AIMessage.isInstance(m)).length];
    if (step)
      return new AIMessage({ content: '', tool_calls: step.map((c) => ({ ...c, type: 'tool_call' as const })) });
    return new AIMessage(summarize(messages));
  };
  // fakeModel answers from a queue; every entry is the same conversation-aware reply.
  for (let i = 0; i < 100; i++) model.respond(reply);
  return model;
}

function summarize(messages: BaseMessage[]): string {
  const results = messages
    .filter((m): m is ToolMessage => ToolMessage.isInstance(m))
    .map((m) => {
      const text = String(m.content);
      const refusal = text.startsWith('{"ok":false') ? JSON.parse(text) : undefined;
      if (!refusal) return `${m.name} ok`;
      const approval = refusal.approval ? `, ${refusal.approval.status}: ${refusal.approval.reason}` : '';
      return `${m.name} blocked (${refusal.error.type}${approval})`;
    });
  return `Done. ${results.join('; ')}.`;
}

/**
 * Shared test fixtures: a policy, tools that record every real execution
 * (with the user they saw in scope), and the two prebuilt agent kinds
 * driven by LangChain's fake tool-calling model.
 */
import { tryGetUser } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { AIMessage, type BaseMessage, ToolMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { type StructuredToolInterface, tool } from '@langchain/core/tools';
import { MemorySaver } from '@langchain/langgraph';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { createAgent } from 'langchain';
import { z } from 'zod';

export const POLICY = `
  roles:
    default:
      tools:
        get_weather:
          mode: allow
          constraints: ['args.city != "Berlin"']
        whoami: { mode: allow }
        delete_file: { mode: approval_required }
    admin:
      tools:
        get_weather: { mode: allow }
        whoami: { mode: allow }
        delete_file: { mode: allow }
`;

export const alice = { id: 'alice', roles: ['default'] };
export const bob = { id: 'bob', roles: ['admin'] };

export interface Execution {
  tool: string;
  args: unknown;
  user: string | undefined;
}

export function makeTools() {
  const executions: Execution[] = [];
  const record = (name: string, args: unknown) => executions.push({ tool: name, args, user: tryGetUser()?.id });
  const getWeather = tool(
    async (args) => {
      record('get_weather', args);
      return `sunny in ${args.city}`;
    },
    { name: 'get_weather', description: 'Weather for a city', schema: z.object({ city: z.string() }) },
  );
  const whoami = tool(
    async (args) => {
      // Yield so concurrent runs interleave before the scope is read.
      await new Promise((r) => setTimeout(r, 5));
      record('whoami', args);
      return `you are ${tryGetUser()?.id}`;
    },
    { name: 'whoami', description: 'Who is calling', schema: z.object({ tag: z.string() }) },
  );
  const deleteFile = tool(
    async (args) => {
      record('delete_file', args);
      return `deleted ${args.path}`;
    },
    { name: 'delete_file', description: 'Deletes a file', schema: z.object({ path: z.string() }) },
  );
  return { executions, tools: [getWeather, whoami, deleteFile], getWeather, whoami, deleteFile };
}

export function enforcer(options: { agentName?: string } = {}) {
  return recordingEnforcer({ policy: POLICY, ...options });
}

export type ToolCallSpec = { name: string; args: Record<string, unknown>; id: string };

/** A fake model that makes one round of tool calls, then answers 'done'. */
export function scriptedModel(calls: ToolCallSpec[]) {
  return fakeModel().respondWithTools(calls).respond(new AIMessage('done'));
}

/**
 * One model serving every run: it answers from the conversation it is given,
 * calling whoami (tagged with the human's message) and get_weather(Berlin),
 * then 'done'. Enough answers for `runs` runs.
 */
export function perUserModel(runs: number) {
  const reply = (messages: BaseMessage[]) => {
    const who = String(messages.find((m) => m.getType() === 'human')?.content);
    if (messages.some((m) => m.getType() === 'tool')) return new AIMessage('done');
    return new AIMessage({
      content: '',
      tool_calls: [
        { name: 'whoami', args: { tag: who }, id: `w-${who}`, type: 'tool_call' },
        { name: 'get_weather', args: { city: 'Berlin' }, id: `g-${who}`, type: 'tool_call' },
      ],
    });
  };
  const model = fakeModel();
  for (let i = 0; i < runs * 2; i++) model.respond(reply);
  return model;
}

export type AgentKind = 'createReactAgent' | 'createAgent';
export const AGENT_KINDS: AgentKind[] = ['createReactAgent', 'createAgent'];

export function buildAgent(
  kind: AgentKind,
  model: ReturnType<typeof fakeModel>,
  tools: StructuredToolInterface[],
  checkpointer: MemorySaver | null = new MemorySaver(),
) {
  return kind === 'createReactAgent'
    ? createReactAgent({ llm: model, tools, ...(checkpointer ? { checkpointer } : {}) })
    : createAgent({ model, tools, ...(checkpointer ? { checkpointer } : {}) });
}

export const thread = (id: string) => ({ configurable: { thread_id: id } });

export const ask = (text = 'go') => ({ messages: [{ role: 'user' as const, content: text }] });

export function toolMessages(messages: BaseMessage[]): ToolMessage[] {
  return messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m));
}

export function contentOf(message: ToolMessage | undefined): string {
  return typeof message?.content === 'string' ? message.content : JSON.stringify(message?.content);
}

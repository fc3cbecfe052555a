/**
 * Builds the research agent (langchain v1 `createAgent`) and puts the policy
 * in front of its tools. Works with any tool-calling chat model: the offline
 * fake one from `model.ts`, or a provider's (see the README).
 */
import type { Enforcer } from '@hexgate/core';
import { wrapLangGraphAgent } from '@hexgate/langgraph';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { MemorySaver } from '@langchain/langgraph';
import { createAgent } from 'langchain';
import { createTools, type DocsService } from './tools.ts';

export const AGENT_NAME = 'research-agent';

export function createResearchAgent(options: { model: BaseChatModel; enforcer: Enforcer; service: DocsService }) {
  const tools = createTools(options.service);
  const graph = createAgent({
    model: options.model,
    tools,
    systemPrompt: 'You research our documentation and maintain its search indexes.',
    // Approvals pause the graph; the checkpointer keeps the paused run (use a durable one in production).
    checkpointer: new MemorySaver(),
  });
  // The tools are gated in place: they are the instances inside the graph.
  return wrapLangGraphAgent(graph, tools, { enforcer: options.enforcer, agentName: AGENT_NAME });
}

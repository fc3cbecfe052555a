/**
 * Offline demo: two users ask the same research agent for work. Every tool
 * call is decided by policy.yaml for the user the run acts for; the
 * destructive tool pauses the graph until a reviewer answers.
 *
 *   pnpm -F @examples/langgraph-research-agent start
 *
 * No API key or network: the model is LangChain's fake chat model, scripted.
 * To use a real model, pass it as `main(console.log, { model })` (see README).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEnforcer, loadPolicySync, type User } from '@hexgate/core';
import { type ApprovalInterrupt, approve, pendingApprovals, reject } from '@hexgate/langgraph';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { Command } from '@langchain/langgraph';
import { createResearchAgent } from './agent.ts';
import { offlineModel, type Step } from './model.ts';
import { createDocsService } from './tools.ts';

const here = dirname(fileURLToPath(import.meta.url));

const SESSIONS: { user: User; request: string; plan: Step[] }[] = [
  {
    user: { id: 'alice' }, // no role: the policy's `default` role
    request: 'What is our retention policy? Then clean up stale indexes.',
    plan: [
      [
        { name: 'search_docs', args: { query: 'indexes', limit: 5 }, id: 'a1' },
        { name: 'read_file', args: { path: 'docs/retention.md' }, id: 'a2' },
        { name: 'read_file', args: { path: 'secrets/api-key.txt' }, id: 'a3' },
      ],
      [{ name: 'delete_index', args: { index: 'staging-2023' }, id: 'a4' }],
    ],
  },
  {
    user: { id: 'olga', roles: ['ops'] },
    request: 'Delete the stale indexes.',
    plan: [
      [
        { name: 'delete_index', args: { index: 'staging-2023' }, id: 'o1' },
        { name: 'delete_index', args: { index: 'staging-2024' }, id: 'o2' },
        { name: 'delete_index', args: { index: 'prod-main' }, id: 'o3' },
      ],
    ],
  },
];

/** Stands in for the human reviewer (a ticket, a chat button). */
function review(request: ApprovalInterrupt) {
  return request.args.index === 'staging-2023'
    ? approve(request, { approver: 'rita' })
    : reject(request, 'still used by the 2024 report', { approver: 'rita' });
}

export async function main(
  log: (line: string) => void = console.log,
  options: { model?: BaseChatModel } = {},
): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    log(line);
  };
  const enforcer = createEnforcer({
    policy: loadPolicySync(join(here, '..', 'policy.yaml')),
    // Print every tool call with its decision.
    onDecision: ({ decision, args }) =>
      say(
        `  [${decision.userId}] ${decision.tool} ${JSON.stringify(args)} -> ${decision.outcome}` +
          (decision.outcome === 'allow' ? '' : ` (${decision.reason})`),
      ),
    onApproval: (e) => say(`  approval ${e.status}${e.approver ? ` by ${e.approver}` : ''}: ${e.decision.tool}`),
  });
  const service = createDocsService();
  const model = options.model ?? offlineModel(Object.fromEntries(SESSIONS.map((s) => [s.request, s.plan])));
  const agent = createResearchAgent({ model, enforcer, service });

  for (const { user, request } of SESSIONS) {
    say(`== ${user.id} (${user.roles?.join(', ') || 'default'}): ${request}`);
    const config = { user, configurable: { thread_id: `thread-${user.id}` } };
    let result = await agent.invoke({ messages: [{ role: 'user', content: request }] }, config);
    for (let pending = pendingApprovals(result); pending.length > 0; pending = pendingApprovals(result)) {
      for (const { request: r } of pending) {
        say(
          `  reviewer asked: ${r.userId} wants ${r.tool} ${JSON.stringify(r.args)} (decision ${r.decisionId.slice(0, 8)})`,
        );
      }
      const answers = Object.fromEntries(pending.map(({ interruptId, request: r }) => [interruptId, review(r)]));
      result = await agent.invoke(new Command({ resume: answers }), config);
    }
    say(`  agent: ${result.messages.at(-1)?.content}`);
  }
  say(`indexes left: ${[...service.indexes].join(', ')}`);
  say(`side effects: ${service.log.join('; ') || 'none'}`);
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}

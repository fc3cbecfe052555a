/**
 * Fixtures for the tracing tests: a policy with a secret-bearing tool, a
 * scenario (allow, deny, approval over two runs, two concurrent users) run
 * through `wrapLangGraphAgent` with the fake model, and a callback handler
 * that opens spans the way `@langfuse/langchain`'s CallbackHandler does.
 */
import { tryGetUser, type User } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import type { BaseMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { Command, MemorySaver } from '@langchain/langgraph';
import { type Context, context, type Span, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { approve, pendingApprovals, wrapLangGraphAgent } from '../index.ts';
import {
  type AgentKind,
  ask,
  buildAgent,
  contentOf,
  perUserModel,
  scriptedModel,
  type ToolCallSpec,
  thread,
  toolMessages,
} from './agents.ts';

export const TRACING_POLICY = `
  roles:
    default:
      tools:
        get_weather:
          mode: allow
          constraints: ['args.city != "Berlin"']
        whoami: { mode: allow }
        login:
          mode: allow
          constraints: ['args.account != "root"']
        set_password: { mode: approval_required }
        flaky: { mode: allow }
    admin:
      tools:
        get_weather: { mode: allow }
        whoami: { mode: allow }
        login: { mode: allow }
        set_password: { mode: allow }
`;

/** Never allowed to leave the process. */
export const SECRET = 'hunter2-very-secret';

export const alice: User = { id: 'alice', roles: ['default'], sessionId: 'sess-alice' };
export const bob: User = { id: 'bob', roles: ['admin'], sessionId: 'sess-bob' };

export function tracingTools() {
  const executions: { tool: string; user: string | undefined }[] = [];
  const ran = (name: string) => executions.push({ tool: name, user: tryGetUser()?.id });
  const getWeather = tool(
    async ({ city }) => {
      ran('get_weather');
      return `sunny in ${city}`;
    },
    { name: 'get_weather', description: 'Weather for a city', schema: z.object({ city: z.string() }) },
  );
  const whoami = tool(
    async () => {
      // Yield so concurrent runs interleave.
      await new Promise((r) => setTimeout(r, 5));
      ran('whoami');
      return `you are ${tryGetUser()?.id}`;
    },
    { name: 'whoami', description: 'Who is calling', schema: z.object({ tag: z.string() }) },
  );
  const login = tool(
    async ({ account }) => {
      ran('login');
      return `logged in ${account}`;
    },
    {
      name: 'login',
      description: 'Log in to an account',
      schema: z.object({ account: z.string(), password: z.string() }),
    },
  );
  const setPassword = tool(
    async ({ account }) => {
      ran('set_password');
      return `password of ${account} changed`;
    },
    {
      name: 'set_password',
      description: 'Change a password',
      schema: z.object({ account: z.string(), password: z.string() }),
    },
  );
  const flaky = tool(
    async () => {
      ran('flaky');
      throw new Error('upstream timeout');
    },
    { name: 'flaky', description: 'Always fails', schema: z.object({}) },
  );
  return { executions, tools: [getWeather, whoami, login, setPassword, flaky], login };
}

export function tracingEnforcer() {
  return recordingEnforcer({ policy: TRACING_POLICY });
}

export const AGENT_NAME = 'support-bot';

/** A wrapped agent of the given kind whose fake model makes `calls`, then answers 'done'. */
export function tracedAgent(kind: AgentKind, calls: ToolCallSpec[], options: { checkpointer?: boolean } = {}) {
  const fixture = tracingTools();
  const recorder = tracingEnforcer();
  const checkpointer = options.checkpointer === false ? null : new MemorySaver();
  const graph = buildAgent(kind, scriptedModel(calls), fixture.tools, checkpointer);
  const agent = wrapLangGraphAgent(graph, fixture.tools, { enforcer: recorder, agentName: AGENT_NAME });
  return { ...fixture, recorder, agent };
}

/** One agent serving every user: it calls whoami and get_weather(Berlin) for whoever asks. */
export function sharedAgent(kind: AgentKind, runs: number) {
  const fixture = tracingTools();
  const recorder = tracingEnforcer();
  const graph = buildAgent(kind, perUserModel(runs), fixture.tools, new MemorySaver());
  const agent = wrapLangGraphAgent(graph, fixture.tools, { enforcer: recorder, agentName: AGENT_NAME });
  return { ...fixture, recorder, agent };
}

/**
 * The whole scenario, as the caller sees it: an allowed and a denied call
 * (both carrying a password), an approval (two runs), and two concurrent
 * users. Returns everything observable except tracing.
 */
export async function runScenario(kind: AgentKind) {
  const messages: Record<string, string>[] = [];
  const collect = (result: { messages: BaseMessage[] }) =>
    messages.push(Object.fromEntries(toolMessages(result.messages).map((m) => [m.tool_call_id, contentOf(m)])));

  const first = tracedAgent(kind, [
    { name: 'login', args: { account: 'alice', password: SECRET }, id: 'allowed' },
    { name: 'login', args: { account: 'root', password: SECRET }, id: 'denied' },
  ]);
  collect(await first.agent.invoke(ask(), { user: alice, ...thread('scenario-1') }));

  const second = tracedAgent(kind, [{ name: 'set_password', args: { account: 'alice', password: SECRET }, id: 'sp' }]);
  const config = { user: alice, ...thread('scenario-2') };
  const paused = await second.agent.invoke(ask(), config);
  const [pending] = pendingApprovals(paused);
  const resumed = await second.agent.invoke(
    new Command({ resume: approve(pending!.request, { approver: 'carol' }) }),
    config,
  );
  collect(resumed);

  const shared = sharedAgent(kind, 2);
  const results = await Promise.all(
    [alice, bob].map((user) => shared.agent.invoke(ask(user.id), { user, ...thread(`scenario-${user.id}`) })),
  );
  results.forEach(collect);

  const decisions = [first, second, shared].flatMap((f) =>
    f.recorder.decisions.map(({ decision: d }) => [
      d.tool,
      d.userId,
      d.outcome,
      d.effective,
      d.reason,
      d.decidingRole,
      [...d.violations],
    ]),
  );
  const executions = [first, second, shared].flatMap((f) => f.executions.map((e) => `${e.tool}:${e.user}`));
  return { messages, decisions: decisions.sort(), executions: executions.sort() };
}

/**
 * Opens spans exactly where `@langfuse/langchain`'s CallbackHandler (5.x) does:
 * a run without a parent starts in the OpenTelemetry context that is active
 * when the callback runs; every other run starts under its parent run's span
 * (explicit parent, never made active). Scope `langfuse-sdk`, so Langfuse's
 * default export filter keeps it, as it keeps the real handler's spans; same
 * `name` as the real handler. (Checked against the real @langfuse/langchain
 * 5.11.1 outside the repo: same trees in both callback modes.)
 */
export class LangfuseLikeHandler extends BaseCallbackHandler {
  name = 'LangfuseCallbackHandler';
  private readonly spans = new Map<string, Span>();
  private readonly tracer = trace.getTracer('langfuse-sdk');

  private start(runId: string, parentRunId: string | undefined, name: string, type: string): void {
    const parent = parentRunId ? this.spans.get(parentRunId) : undefined;
    const ctx: Context = parent ? trace.setSpan(context.active(), parent) : context.active();
    const span = this.tracer.startSpan(name, { attributes: { 'langfuse.observation.type': type } }, ctx);
    this.spans.set(runId, span);
  }

  private end(runId: string): void {
    this.spans.get(runId)?.end();
    this.spans.delete(runId);
  }

  override async handleChainStart(
    chain: { id: string[] },
    _inputs: unknown,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: unknown,
    _runType?: string,
    name?: string,
  ) {
    this.start(runId, parentRunId, name ?? chain.id.at(-1) ?? 'chain', 'span');
  }
  override async handleChainEnd(_outputs: unknown, runId: string) {
    this.end(runId);
  }
  override async handleChainError(_error: unknown, runId: string) {
    this.end(runId);
  }
  override async handleToolStart(
    t: { id: string[] },
    _input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: unknown,
    name?: string,
  ) {
    this.start(runId, parentRunId, name ?? t.id.at(-1) ?? 'tool', 'tool');
  }
  override async handleToolEnd(_output: unknown, runId: string) {
    this.end(runId);
  }
  override async handleToolError(_error: unknown, runId: string) {
    this.end(runId);
  }
  override async handleChatModelStart(
    llm: { id: string[] },
    _messages: unknown,
    runId: string,
    parentRunId?: string,
    _extra?: unknown,
    _tags?: string[],
    _metadata?: unknown,
    name?: string,
  ) {
    this.start(runId, parentRunId, name ?? llm.id.at(-1) ?? 'model', 'generation');
  }
  override async handleLLMEnd(_output: unknown, runId: string) {
    this.end(runId);
  }
  override async handleLLMError(_error: unknown, runId: string) {
    this.end(runId);
  }
}

import { decisionPayload, HexgateError, hashArgs, runWithUser, type User } from '@hexgate/core';
import { AIMessage, type ToolMessage } from '@langchain/core/messages';
import { Command, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { createReactAgent } from '@langchain/langgraph/prebuilt';
import { describe, expect, it } from 'vitest';
import {
  AGENT_KINDS,
  alice,
  ask,
  bob,
  buildAgent,
  contentOf,
  enforcer,
  makeTools,
  perUserModel,
  scriptedModel,
  thread,
  toolMessages,
} from './__fixtures__/agents.ts';
import {
  ApprovalUnavailableError,
  approve,
  guardTools,
  pendingApprovals,
  policyMiddleware,
  reject,
  wrapLangGraphAgent,
} from './index.ts';

describe.each(AGENT_KINDS)('wrapLangGraphAgent with %s', (kind) => {
  function setup(calls: Parameters<typeof scriptedModel>[0], opts: { checkpointer?: boolean } = {}) {
    const fixture = makeTools();
    const model = scriptedModel(calls);
    const graph = buildAgent(kind, model, fixture.tools, opts.checkpointer === false ? null : new MemorySaver());
    const recorder = enforcer();
    const agent = wrapLangGraphAgent(graph, fixture.tools, { enforcer: recorder, agentName: 'weather-bot' });
    return { ...fixture, model, graph, recorder, agent };
  }

  it('allow: the tool runs with the decided arguments, as the caller', async () => {
    const { agent, executions, recorder } = setup([{ name: 'get_weather', args: { city: 'Paris' }, id: 'c1' }]);
    const result = await agent.invoke(ask(), { user: alice, ...thread('allow') });
    expect(executions).toEqual([{ tool: 'get_weather', args: { city: 'Paris' }, user: 'alice' }]);
    expect(contentOf(toolMessages(result.messages)[0])).toBe('sunny in Paris');
    expect(recorder.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.decision.agentName])).toEqual([
      ['get_weather', 'allow', 'weather-bot'],
    ]);
    expect(recorder.decisions[0]?.user?.id).toBe('alice');
  });

  it('deny: the tool does not run and the model receives the structured payload', async () => {
    const { agent, executions, recorder, model } = setup([{ name: 'get_weather', args: { city: 'Berlin' }, id: 'c1' }]);
    const result = await agent.invoke(ask(), { user: alice, ...thread('deny') });
    expect(executions).toEqual([]);
    const decision = recorder.decisions[0]?.decision;
    expect(decision?.outcome).toBe('deny');
    const message = toolMessages(result.messages)[0];
    expect(message?.status).toBe('error');
    expect(JSON.parse(contentOf(message))).toEqual({ ok: false, error: decisionPayload(decision!) });
    // The model's second turn saw the payload and could recover.
    const seen = model.calls[1]?.messages.map((m) => m.content);
    expect(seen).toContain(contentOf(message));
    expect(result.messages.at(-1)?.content).toBe('done');
  });

  it('approval_required: interrupts, then an approval resumes and runs the tool exactly once', async () => {
    const { agent, executions, recorder } = setup([{ name: 'delete_file', args: { path: '/tmp/a' }, id: 'd1' }]);
    const config = { user: alice, ...thread('approve') };
    const first = await agent.invoke(ask(), config);
    expect(executions).toEqual([]);
    const [pending] = pendingApprovals(first);
    const decision = recorder.decisions[0]!.decision;
    expect(pending?.request).toMatchObject({
      type: 'hexgate.approval_required',
      tool: 'delete_file',
      args: { path: '/tmp/a' },
      argsHash: hashArgs({ path: '/tmp/a' }),
      reason: decision.reason,
      decisionId: decision.id,
      toolCallId: 'd1',
      userId: 'alice',
    });
    expect(recorder.approvals.map((a) => a.status)).toEqual(['requested']);

    const done = await agent.invoke(new Command({ resume: approve(pending!.request, { approver: 'carol' }) }), config);
    expect(executions).toEqual([{ tool: 'delete_file', args: { path: '/tmp/a' }, user: 'alice' }]);
    expect(contentOf(toolMessages(done.messages)[0])).toBe('deleted /tmp/a');
    expect(recorder.approvals.map((a) => [a.status, a.approver, a.argsHash])).toEqual([
      ['requested', undefined, hashArgs({ path: '/tmp/a' })],
      ['approved', 'carol', hashArgs({ path: '/tmp/a' })],
    ]);
    expect(pendingApprovals(done)).toEqual([]);
  });

  it('approval_required: a rejection never runs the tool and tells the model why', async () => {
    const { agent, executions, recorder } = setup([{ name: 'delete_file', args: { path: '/etc' }, id: 'd1' }]);
    const config = { user: alice, ...thread('reject') };
    const [pending] = pendingApprovals(await agent.invoke(ask(), config));
    const done = await agent.invoke(new Command({ resume: reject(pending!.request, 'not on prod') }), config);
    expect(executions).toEqual([]);
    const body = JSON.parse(contentOf(toolMessages(done.messages)[0]));
    expect(body).toMatchObject({
      ok: false,
      error: { type: 'approval_required', tool_name: 'delete_file' },
      approval: { status: 'rejected', reason: 'not on prod' },
    });
    expect(recorder.approvals.map((a) => [a.status, a.reason])).toEqual([
      ['requested', undefined],
      ['rejected', 'not on prod'],
    ]);
  });

  it('parallel calls with mixed decisions: each is decided and resumed on its own, side effects run once', async () => {
    const { agent, executions, recorder } = setup([
      { name: 'get_weather', args: { city: 'Paris' }, id: 'p' },
      { name: 'get_weather', args: { city: 'Berlin' }, id: 'b' },
      { name: 'delete_file', args: { path: '/tmp/x' }, id: 'x' },
      { name: 'delete_file', args: { path: '/tmp/y' }, id: 'y' },
    ]);
    const config = { user: alice, ...thread('parallel') };
    let result = await agent.invoke(ask(), config);
    const asked: string[] = [];
    // Answer whatever is pending, one interrupt at a time, by interrupt id.
    for (let pending = pendingApprovals(result); pending.length > 0; pending = pendingApprovals(result)) {
      const { interruptId, request } = pending[0]!;
      asked.push(request.toolCallId!);
      const answer = request.args.path === '/tmp/x' ? approve(request) : reject(request, 'keep y');
      result = await agent.invoke(new Command({ resume: { [interruptId!]: answer } }), config);
    }
    expect(asked).toEqual(['x', 'y']);
    expect(executions.map((e) => [e.tool, e.args])).toEqual([
      ['get_weather', { city: 'Paris' }],
      ['delete_file', { path: '/tmp/x' }],
    ]);
    const byId = Object.fromEntries(toolMessages(result.messages).map((m) => [m.tool_call_id, contentOf(m)]));
    expect(byId.p).toBe('sunny in Paris');
    expect(JSON.parse(byId.b!).error.type).toBe('policy_denied');
    expect(byId.x).toBe('deleted /tmp/x');
    expect(JSON.parse(byId.y!).approval).toEqual({ status: 'rejected', reason: 'keep y' });
    // Paris and Berlin were decided once each, even though a raw ToolNode replays them on every resume.
    const perCall = recorder.decisions.map((d) => `${d.decision.tool}:${JSON.stringify(d.args)}`);
    expect(perCall.filter((c) => c.includes('Paris'))).toHaveLength(1);
    expect(perCall.filter((c) => c.includes('Berlin'))).toHaveLength(1);
    expect(recorder.approvals.map((a) => a.status).sort()).toEqual(['approved', 'rejected', 'requested', 'requested']);
  });

  it('an answer bound to one call does not approve another pending call', async () => {
    const { agent, executions } = setup([
      { name: 'delete_file', args: { path: '/tmp/x' }, id: 'x' },
      { name: 'delete_file', args: { path: '/tmp/y' }, id: 'y' },
    ]);
    const config = { user: alice, ...thread('bound') };
    const first = await agent.invoke(ask(), config);
    const x = pendingApprovals(first)[0]!.request;
    expect(x.toolCallId).toBe('x');
    // A plain (non-map) resume reaches every pending interrupt; only x may run.
    const second = await agent.invoke(new Command({ resume: approve(x) }), config);
    expect(executions.map((e) => e.args)).toEqual([{ path: '/tmp/x' }]);
    expect(pendingApprovals(second).map((p) => p.request.toolCallId)).toEqual(['y']);
  });

  it('streaming: stream() and streamEvents() keep the user and surface interrupts', async () => {
    const { agent, executions } = setup([
      { name: 'whoami', args: { tag: 's' }, id: 'w' },
      { name: 'delete_file', args: { path: '/tmp/s' }, id: 'd' },
    ]);
    const config = { user: alice, ...thread('stream') };
    // Created inside the wrapper, consumed later from a different user's scope.
    const stream = await agent.stream(ask(), { ...config, streamMode: 'updates' });
    const chunks: Record<string, unknown>[] = [];
    await runWithUser(bob, async () => {
      for await (const chunk of stream) chunks.push(chunk);
    });
    const interrupt = chunks.find((c) => '__interrupt__' in c);
    const [pending] = pendingApprovals(interrupt);
    expect(pending?.request.tool).toBe('delete_file');

    const events = agent.streamEvents(new Command({ resume: approve(pending!.request) }), {
      ...config,
      version: 'v2',
    });
    const ended: string[] = [];
    await runWithUser(bob, async () => {
      for await (const event of events) if (event.event === 'on_tool_end') ended.push(event.name);
    });
    expect(ended).toContain('delete_file');
    // Each ran once, as alice (a raw ToolNode may still be finishing whoami when delete_file runs).
    expect(executions.map((e) => [e.tool, e.user]).sort()).toEqual([
      ['delete_file', 'alice'],
      ['whoami', 'alice'],
    ]);
  });

  it('two concurrent users each get their own decisions and scope', async () => {
    const fixture = makeTools();
    const recorder = enforcer();
    const agent = wrapLangGraphAgent(buildAgent(kind, perUserModel(4), fixture.tools), fixture.tools, {
      enforcer: recorder,
    });
    const users: User[] = [alice, bob, { id: 'carol', roles: ['admin'] }, { id: 'dave' }];
    const results = await Promise.all(
      users.map((user) => agent.invoke(ask(user.id), { user, ...thread(`concurrent-${user.id}`) })),
    );
    for (const [i, user] of users.entries()) {
      const byName = Object.fromEntries(toolMessages(results[i]!.messages).map((m) => [m.name, contentOf(m)]));
      expect(byName.whoami).toBe(`you are ${user.id}`);
      // Berlin is denied for the default role and allowed for admins.
      expect(byName.get_weather?.startsWith('{"ok":false')).toBe(user.roles?.[0] !== 'admin');
    }
    const seen = fixture.executions.map((e) => [e.tool, (e.args as { tag?: string }).tag ?? '-', e.user]).sort();
    expect(seen).toEqual(
      [...users.map((u) => ['whoami', u.id, u.id]), ['get_weather', '-', 'bob'], ['get_weather', '-', 'carol']].sort(),
    );
    const weather = recorder.decisions.filter((d) => d.decision.tool === 'get_weather');
    expect(weather.map((d) => [d.decision.userId, d.decision.outcome]).sort()).toEqual([
      ['alice', 'deny'],
      ['bob', 'allow'],
      ['carol', 'allow'],
      ['dave', 'deny'],
    ]);
  });

  it('without a checkpointer an approval fails the run with a typed error (no hang, no execution)', async () => {
    const { agent, executions } = setup([{ name: 'delete_file', args: { path: '/tmp/a' }, id: 'd1' }], {
      checkpointer: false,
    });
    const error = await agent.invoke(ask(), { user: alice }).catch((e: unknown) => e);
    expect(ApprovalUnavailableError.isInstance(error)).toBe(true);
    expect(HexgateError.isInstance(error)).toBe(true);
    expect((error as ApprovalUnavailableError).code).toBe('APPROVAL_REQUIRED');
    expect((error as Error).message).toMatch(/checkpointer.*thread_id/);
    // Streams end with the same error.
    const again = setup([{ name: 'delete_file', args: { path: '/tmp/a' }, id: 'd1' }], { checkpointer: false });
    const streamed = await (async () => {
      for await (const _ of await again.agent.stream(ask(), { user: alice })) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(ApprovalUnavailableError.isInstance(streamed)).toBe(true);
    expect([...executions, ...again.executions]).toEqual([]);
  });

  it('per-call agentName is reported with every decision', async () => {
    const { agent, recorder } = setup([
      { name: 'get_weather', args: { city: 'Paris' }, id: 'c1' },
      { name: 'get_weather', args: { city: 'Berlin' }, id: 'c2' },
    ]);
    await agent.invoke(ask(), { user: alice, agentName: 'trip-planner', ...thread('name') });
    expect(recorder.decisions.map((d) => d.decision.agentName)).toEqual(['trip-planner', 'trip-planner']);
  });

  it('an approval given for one user does not run the call when another user resumes the thread', async () => {
    const { agent, executions, recorder } = setup([{ name: 'delete_file', args: { path: '/tmp/a' }, id: 'd1' }]);
    const [forAlice] = pendingApprovals(await agent.invoke(ask(), { user: alice, ...thread('other-user') }));
    expect(forAlice?.request.userId).toBe('alice');
    // Mallory (also approval_required) resumes alice's thread with the reviewer's answer for alice.
    const mallory = { id: 'mallory', roles: ['default'] };
    const resumed = await agent.invoke(new Command({ resume: approve(forAlice!.request) }), {
      user: mallory,
      ...thread('other-user'),
    });
    expect(executions).toEqual([]);
    // The call is asked again, for mallory; the answer for alice approved nothing.
    expect(pendingApprovals(resumed).map((p) => [p.request.toolCallId, p.request.userId])).toEqual([['d1', 'mallory']]);
    expect(recorder.approvals.map((a) => a.status)).not.toContain('approved');
  });

  it('arguments edited in the checkpoint before the resume are asked again, not run on the old approval', async () => {
    const { agent, executions } = setup([{ name: 'delete_file', args: { path: '/tmp/a' }, id: 'd1' }]);
    const config = { user: alice, ...thread('edited') };
    const [pending] = pendingApprovals(await agent.invoke(ask(), config));
    // Someone rewrites the pending tool call (LangGraph's own updateState) after the reviewer saw /tmp/a.
    const state = await agent.getState(thread('edited'));
    const asked = state.values.messages.at(-1) as AIMessage;
    const edited = new AIMessage({
      id: asked.id,
      content: '',
      tool_calls: [{ name: 'delete_file', args: { path: '/etc' }, id: 'd1', type: 'tool_call' }],
    });
    await agent.updateState(thread('edited'), { messages: [edited] });
    const resumed = await agent.invoke(new Command({ resume: approve(pending!.request) }), config);
    expect(executions).toEqual([]);
    expect(pendingApprovals(resumed).map((p) => p.request.args)).toEqual([{ path: '/etc' }]);
  });

  it('withConfig keeps the wrapper: the derived graph still takes the per-call user', async () => {
    const { agent, executions, recorder } = setup([{ name: 'whoami', args: { tag: 'w' }, id: 'w' }]);
    const configured = agent.withConfig({ recursionLimit: 10 });
    // Called from inside bob's scope (say, an admin's request) on behalf of alice.
    await runWithUser(bob, () => configured.invoke(ask(), { user: alice, ...thread('with-config') }));
    expect(executions.map((e) => e.user)).toEqual(['alice']);
    expect(recorder.decisions.map((d) => d.decision.userId)).toEqual(['alice']);
    expect(() => agent.withConfig({ user: alice } as never)).toThrow(/per call/);
  });
});

describe('the original tool objects (gated in place)', () => {
  it('stay gated outside the wrapper: direct calls are decided for the user in scope', async () => {
    const { tools, getWeather, executions } = makeTools();
    const recorder = enforcer();
    wrapLangGraphAgent(buildAgent('createAgent', scriptedModel([]), tools), tools, { enforcer: recorder });
    const denied = await runWithUser(alice, () => getWeather.invoke({ city: 'Berlin' }));
    expect(JSON.parse(denied as string)).toMatchObject({ ok: false, error: { type: 'policy_denied' } });
    const allowed = await runWithUser(alice, () => getWeather.invoke({ city: 'Oslo' }));
    expect(allowed).toBe('sunny in Oslo');
    // A ToolCall in gives a ToolMessage out, as LangChain tools do.
    const message = await runWithUser(alice, () =>
      getWeather.invoke({ type: 'tool_call', id: 'z', name: 'get_weather', args: { city: 'Berlin' } }),
    );
    expect(message).toMatchObject({ tool_call_id: 'z', status: 'error' });
    expect(executions).toEqual([{ tool: 'get_weather', args: { city: 'Oslo' }, user: 'alice' }]);
    expect(recorder.decisions).toHaveLength(3);
  });

  it('a direct call needing approval outside a graph throws ApprovalUnavailableError', async () => {
    const { tools, deleteFile, executions } = makeTools();
    wrapLangGraphAgent(buildAgent('createAgent', scriptedModel([]), tools), tools, { enforcer: enforcer() });
    const error = await runWithUser(alice, () => deleteFile.invoke({ path: '/x' })).catch((e: unknown) => e);
    expect(ApprovalUnavailableError.isInstance(error)).toBe(true);
    expect(executions).toEqual([]);
  });

  it('cannot be gated twice, and every tool of the graph must be passed in', () => {
    const { tools } = makeTools();
    const graph = buildAgent('createReactAgent', scriptedModel([]), tools);
    expect(() => wrapLangGraphAgent(graph, tools.slice(0, 2), { enforcer: enforcer() })).toThrow(
      /uses tool 'delete_file' but it was not passed in/,
    );
    // The failed call modified nothing: wrapping with all tools still works once...
    wrapLangGraphAgent(graph, tools, { enforcer: enforcer() });
    // ...and only once.
    const error = (() => {
      try {
        wrapLangGraphAgent(graph, tools, { enforcer: enforcer() });
      } catch (e) {
        return e;
      }
    })();
    expect((error as HexgateError).code).toBe('INVALID_OPTIONS');
    expect((error as Error).message).toMatch(/already gated/);
  });

  it('a tool of a compiled subgraph must be passed in too', () => {
    const { tools } = makeTools();
    const inner = createReactAgent({ llm: scriptedModel([]), tools });
    const nested = new StateGraph(MessagesAnnotation).addNode('research', inner).addEdge(START, 'research').compile();
    const outer = new StateGraph(MessagesAnnotation).addNode('team', nested).addEdge(START, 'team').compile();
    expect(() => wrapLangGraphAgent(outer, tools.slice(0, 2), { enforcer: enforcer() })).toThrow(
      /uses tool 'delete_file' but it was not passed in/,
    );
    expect(() => wrapLangGraphAgent(outer, tools, { enforcer: enforcer() })).not.toThrow();
  });

  it('batch takes a user per input, as invoke does', async () => {
    const fixture = makeTools();
    const recorder = enforcer();
    const graph = createReactAgent({ llm: perUserModel(2), tools: fixture.tools, checkpointer: new MemorySaver() });
    const agent = wrapLangGraphAgent(graph, fixture.tools, { enforcer: recorder });
    const carol = { id: 'carol', roles: ['default'] };
    // Inside bob's (admin) scope, on behalf of alice and carol.
    const results = await runWithUser(bob, () =>
      agent.batch(
        [ask('alice'), ask('carol')],
        [
          { user: alice, ...thread('batch-a') },
          { user: carol, ...thread('batch-c') },
        ],
      ),
    );
    const whoami = results.map((r) => contentOf(toolMessages(r.messages).find((m) => m.name === 'whoami')));
    expect(whoami).toEqual(['you are alice', 'you are carol']);
    expect(recorder.decisions.map((d) => d.decision.userId).sort()).toEqual(['alice', 'alice', 'carol', 'carol']);
    // Berlin is denied for both (the default role), as it would have been allowed for bob.
    expect(fixture.executions.filter((e) => e.tool === 'get_weather')).toEqual([]);
  });

  it('a call id repeated outside a graph is decided again, never handed an earlier result', async () => {
    const { tools, getWeather, executions } = makeTools();
    const recorder = enforcer();
    wrapLangGraphAgent(buildAgent('createAgent', scriptedModel([]), tools), tools, { enforcer: recorder });
    const call = { type: 'tool_call' as const, id: 'call_0', name: 'get_weather', args: { city: 'Berlin' } };
    // A thread_id in the config, but no graph task: nothing to replay.
    const config = thread('direct');
    const forBob = await runWithUser(bob, () => getWeather.invoke(call, config));
    const forAlice = await runWithUser(alice, () => getWeather.invoke(call, config));
    expect(contentOf(forBob as ToolMessage)).toBe('sunny in Berlin');
    expect(JSON.parse(contentOf(forAlice as ToolMessage)).error.type).toBe('policy_denied');
    expect(executions.map((e) => e.user)).toEqual(['bob']);
    expect(recorder.decisions.map((d) => [d.decision.userId, d.decision.outcome])).toEqual([
      ['bob', 'allow'],
      ['alice', 'deny'],
    ]);
  });

  it('the gate cannot be swapped out afterwards: reassigning call throws, the tool stays gated', async () => {
    const { tools, getWeather, executions } = makeTools();
    const ungated = getWeather.call;
    wrapLangGraphAgent(buildAgent('createAgent', scriptedModel([]), tools), tools, { enforcer: enforcer() });
    expect(() => {
      getWeather.call = ungated;
    }).toThrow(TypeError);
    expect(() => Object.defineProperty(getWeather, 'call', { value: ungated })).toThrow(TypeError);
    const denied = await runWithUser(alice, () => getWeather.invoke({ city: 'Berlin' }));
    expect(JSON.parse(denied as string).error.type).toBe('policy_denied');
    expect(executions).toEqual([]);
  });

  it('a tool listed twice is gated once (one decision per call)', async () => {
    const { tools, getWeather } = makeTools();
    const recorder = enforcer();
    wrapLangGraphAgent(buildAgent('createAgent', scriptedModel([]), tools), [...tools, getWeather], {
      enforcer: recorder,
    });
    await runWithUser(alice, () => getWeather.invoke({ city: 'Oslo' }));
    expect(recorder.decisions).toHaveLength(1);
  });

  it('rejects a missing enforcer and malformed approval options, gating nothing', () => {
    const { tools } = makeTools();
    const graph = buildAgent('createAgent', scriptedModel([]), tools);
    expect(() => wrapLangGraphAgent(graph, tools, {} as never)).toThrow(/enforcer/);
    expect(() => wrapLangGraphAgent(graph, tools, { enforcer: enforcer(), approvalHandler: true as never })).toThrow(
      /approvalHandler must be a function/,
    );
    expect(() => guardTools(tools, { enforcer: enforcer(), approvalTimeoutMs: Number.NaN })).toThrow(
      /approvalTimeoutMs must be a positive number/,
    );
    expect(() => policyMiddleware({ enforcer: enforcer(), approvalTimeoutMs: 0 })).toThrow(/approvalTimeoutMs/);
    // The failed wraps left the tools ungated: they can still be gated once.
    expect(() => wrapLangGraphAgent(graph, tools, { enforcer: enforcer() })).not.toThrow();
  });
});

import { createEnforcer, runWithUser } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { DynamicStructuredTool, tool } from '@langchain/core/tools';
import { Command, END, interrupt, MemorySaver, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { ToolNode, toolsCondition } from '@langchain/langgraph/prebuilt';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  alice,
  ask,
  bob,
  contentOf,
  enforcer,
  makeTools,
  POLICY,
  scriptedModel,
  type ToolCallSpec,
  thread,
  toolMessages,
} from './__fixtures__/agents.ts';
import { approve, guardTools, pendingApprovals, reject, wrapLangGraphAgent } from './index.ts';

/** A hand-built agent loop: model node -> ToolNode -> model node. */
function rawGraph(calls: ToolCallSpec[], tools: StructuredToolInterface[], checkpointer: MemorySaver | null = null) {
  const model = scriptedModel(calls).bindTools(tools);
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', async (state) => ({ messages: [await model.invoke(state.messages)] }))
    .addNode('tools', new ToolNode(tools))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', toolsCondition, ['tools', END])
    .addEdge('tools', 'agent')
    .compile(checkpointer ? { checkpointer } : {});
}

describe('guardTools (gated copies for graphs you build yourself)', () => {
  it('returns gated copies and leaves the originals untouched', async () => {
    const { tools, getWeather, executions } = makeTools();
    const [gatedWeather] = guardTools([getWeather], { enforcer: enforcer() });
    expect(gatedWeather).not.toBe(getWeather);
    expect([gatedWeather!.name, gatedWeather!.description, gatedWeather!.schema]).toEqual([
      getWeather.name,
      getWeather.description,
      getWeather.schema,
    ]);
    const denied = await runWithUser(alice, () => gatedWeather!.invoke({ city: 'Berlin' }));
    expect(JSON.parse(denied as string).error.type).toBe('policy_denied');
    // The original is not gated: it runs (that is the caller's choice when using copies).
    expect(await runWithUser(alice, () => getWeather.invoke({ city: 'Berlin' }))).toBe('sunny in Berlin');
    expect(executions.map((e) => e.args)).toEqual([{ city: 'Berlin' }]);
    // Copying does not mark the originals: they can still be gated themselves.
    expect(() => guardTools(tools, { enforcer: enforcer() })).not.toThrow();
  });

  it('runs the original tool with exactly the snapshot the decision was made on', async () => {
    let received: unknown;
    // A JSON-schema tool hands its input through unparsed, so identity is observable.
    const echo = new DynamicStructuredTool({
      name: 'get_weather',
      description: 'echo',
      schema: { type: 'object' as const, properties: { city: { type: 'string' as const } }, required: ['city'] },
      func: async (input) => {
        received = input;
        return 'ok';
      },
    });
    const recorder = enforcer();
    const [gated] = guardTools([echo], { enforcer: recorder });
    const args = { city: 'Paris' };
    expect(await runWithUser(alice, () => gated!.invoke(args))).toBe('ok');
    expect(received).toBe(recorder.decisions[0]?.args);
    expect(received).not.toBe(args);
    expect(Object.isFrozen(received)).toBe(true);
  });

  it('a raw ToolNode replays siblings on resume, but a gated side effect still runs exactly once', async () => {
    const calls: ToolCallSpec[] = [
      { name: 'get_weather', args: { city: 'Paris' }, id: 'p' },
      { name: 'delete_file', args: { path: '/tmp/a' }, id: 'd' },
    ];
    // Control: without hexgate, the same graph shape runs Paris twice.
    const control = makeTools();
    const ask4approval = tool(async () => interrupt('ok?'), {
      name: 'delete_file',
      description: 'asks first',
      schema: z.object({ path: z.string() }),
    });
    const controlGraph = rawGraph(calls, [control.getWeather, ask4approval], new MemorySaver());
    await controlGraph.invoke(ask(), thread('control'));
    await controlGraph.invoke(new Command({ resume: true }), thread('control'));
    expect(control.executions.filter((e) => e.tool === 'get_weather')).toHaveLength(2);

    const { tools, executions } = makeTools();
    const recorder = enforcer();
    const graph = rawGraph(calls, guardTools(tools, { enforcer: recorder }), new MemorySaver());
    const first = await runWithUser(alice, () => graph.invoke(ask(), thread('gated')));
    const [pending] = pendingApprovals(first);
    const done = await runWithUser(alice, () =>
      graph.invoke(new Command({ resume: approve(pending!.request) }), thread('gated')),
    );
    expect(executions.map((e) => [e.tool, e.user])).toEqual([
      ['get_weather', 'alice'],
      ['delete_file', 'alice'],
    ]);
    expect(toolMessages(done.messages).map(contentOf)).toEqual(['sunny in Paris', 'deleted /tmp/a']);
    expect(recorder.decisions.filter((d) => d.decision.tool === 'get_weather')).toHaveLength(1);
  });

  it('reads the user from configurable.hexgate when no scope is bound', async () => {
    const { tools, executions } = makeTools();
    const recorder = enforcer();
    const graph = rawGraph(
      [
        { name: 'whoami', args: { tag: 'x' }, id: 'w' },
        { name: 'delete_file', args: { path: '/tmp/b' }, id: 'd' },
      ],
      guardTools(tools, { enforcer: recorder, agentName: 'raw' }),
    );
    const result = await graph.invoke(ask(), { configurable: { hexgate: { user: bob } } });
    expect(toolMessages(result.messages).map(contentOf)).toEqual(['you are bob', 'deleted /tmp/b']);
    expect(executions.map((e) => e.user)).toEqual(['bob', 'bob']);
    expect(recorder.decisions.map((d) => [d.decision.userId, d.decision.agentName])).toEqual([
      ['bob', 'raw'],
      ['bob', 'raw'],
    ]);
  });

  it('a user in configurable.hexgate that is not the runWithUser user is refused, not trusted', async () => {
    const { tools, executions } = makeTools();
    const recorder = enforcer();
    const graph = rawGraph(
      [
        { name: 'delete_file', args: { path: '/etc' }, id: 'd' },
        { name: 'whoami', args: { tag: 't' }, id: 'w' },
      ],
      guardTools(tools, { enforcer: recorder }),
    );
    // The server binds the signed-in user (alice) but passes the client's configurable through.
    const spoofed = { configurable: { thread_id: 't', hexgate: { user: bob } } };
    const result = await runWithUser(alice, () => graph.invoke(ask(), spoofed));
    expect(executions).toEqual([]);
    const messages = toolMessages(result.messages);
    expect(messages.map((m) => JSON.parse(contentOf(m)).error.type)).toEqual(['policy_denied', 'policy_denied']);
    // Reported as denials for the user in scope.
    expect(recorder.decisions.map((d) => [d.decision.userId, d.decision.outcome])).toEqual([
      ['alice', 'deny'],
      ['alice', 'deny'],
    ]);
    // The same user in both places is fine.
    const same = rawGraph([{ name: 'whoami', args: { tag: 's' }, id: 'w' }], guardTools(tools, { enforcer: recorder }));
    const ok = await runWithUser(alice, () =>
      same.invoke(ask(), { configurable: { hexgate: { user: { ...alice } } } }),
    );
    expect(toolMessages(ok.messages).map(contentOf)).toEqual(['you are alice']);
  });

  it('approvalHandler: a run cancelled while the handler decides never runs the tool on a late yes', async () => {
    const ran: unknown[] = [];
    // A class tool: unlike tool(), it does not check the signal itself.
    const deleteFile = new DynamicStructuredTool({
      name: 'delete_file',
      description: 'Deletes a file',
      schema: z.object({ path: z.string() }),
      func: async (input) => {
        ran.push(input);
        return 'deleted';
      },
    });
    const recorder = enforcer();
    const cancel = new AbortController();
    let answer!: (yes: boolean) => void;
    const gated = guardTools([deleteFile], {
      enforcer: recorder,
      // The user cancels the run while the reviewer is still looking; the reviewer then says yes.
      approvalHandler: () => {
        cancel.abort();
        return new Promise((resolve) => {
          answer = resolve;
        });
      },
    });
    const graph = rawGraph([{ name: 'delete_file', args: { path: '/1' }, id: 'a' }], gated);
    const run = await runWithUser(alice, () => graph.invoke(ask(), { signal: cancel.signal })).catch((e) => e);
    expect((run as Error).name).toBe('AbortError');
    answer(true);
    await vi.waitFor(() => expect(recorder.approvals.map((a) => a.status)).toEqual(['requested', 'rejected']));
    expect(recorder.approvals[1]?.reason).toMatch(/cancelled/);
    expect(ran).toEqual([]);
  });

  it('approvalHandler decides inline: only a literal true approves; timeouts expire', async () => {
    const seen: unknown[] = [];
    const answers: unknown[] = [true, 'yes', new Promise(() => {})];
    const { tools, executions } = makeTools();
    const recorder = enforcer();
    const gated = guardTools(tools, {
      enforcer: recorder,
      approvalTimeoutMs: 50,
      approvalHandler: (request) => {
        seen.push([request.decision.tool, request.args, request.argsHash.length]);
        return answers.shift();
      },
    });
    // No checkpointer: the handler answers, nothing interrupts.
    const graph = rawGraph(
      [
        { name: 'delete_file', args: { path: '/1' }, id: 'a' },
        { name: 'delete_file', args: { path: '/2' }, id: 'b' },
        { name: 'delete_file', args: { path: '/3' }, id: 'c' },
      ],
      gated,
    );
    const result = await runWithUser(alice, () => graph.invoke(ask()));
    expect(seen).toEqual([
      ['delete_file', { path: '/1' }, 64],
      ['delete_file', { path: '/2' }, 64],
      ['delete_file', { path: '/3' }, 64],
    ]);
    expect(executions.map((e) => e.args)).toEqual([{ path: '/1' }]);
    const [first, second, third] = toolMessages(result.messages).map(contentOf);
    expect(first).toBe('deleted /1');
    expect(JSON.parse(second!).approval.status).toBe('rejected');
    expect(JSON.parse(third!).approval.status).toBe('expired');
    expect(recorder.approvals.map((a) => a.status).sort()).toEqual([
      'approved',
      'expired',
      'rejected',
      'requested',
      'requested',
      'requested',
    ]);
  });

  it('shadow mode reports the deny but lets the call run', async () => {
    const decisions: string[] = [];
    const shadow = createEnforcer({
      policy: testPolicy(POLICY),
      mode: 'shadow',
      onDecision: (e) => decisions.push(`${e.decision.outcome}/${e.decision.effective}`),
    });
    const { tools, executions } = makeTools();
    const graph = rawGraph(
      [{ name: 'get_weather', args: { city: 'Berlin' }, id: 'b' }],
      guardTools(tools, { enforcer: shadow }),
    );
    await runWithUser(alice, () => graph.invoke(ask()));
    expect(decisions).toEqual(['deny/allow']);
    expect(executions).toHaveLength(1);
  });
});

describe('wrapLangGraphAgent on a hand-built StateGraph', () => {
  it('gates the ToolNode tools in place; approve and reject flow through interrupts', async () => {
    const { tools, executions } = makeTools();
    const recorder = enforcer();
    const graph = rawGraph(
      [
        { name: 'delete_file', args: { path: '/keep' }, id: 'k' },
        { name: 'delete_file', args: { path: '/drop' }, id: 'x' },
        { name: 'get_weather', args: { city: 'Berlin' }, id: 'b' },
      ],
      tools,
      new MemorySaver(),
    );
    const agent = wrapLangGraphAgent(graph, tools, { enforcer: recorder, agentName: 'raw-agent' });
    const config = { user: alice, ...thread('raw') };
    let result = await agent.invoke(ask(), config);
    for (let p = pendingApprovals(result); p.length > 0; p = pendingApprovals(result)) {
      const { request } = p[0]!;
      const answer = request.args.path === '/drop' ? approve(request) : reject(request);
      result = await agent.invoke(new Command({ resume: answer }), config);
    }
    expect(executions.map((e) => e.args)).toEqual([{ path: '/drop' }]);
    expect(toolMessages(result.messages)).toHaveLength(3);
    expect(new Set(recorder.decisions.map((d) => d.decision.agentName))).toEqual(new Set(['raw-agent']));
    // The graph's own state reflects the run (other graph methods pass through).
    const state = await agent.getState(thread('raw'));
    expect(state.next).toEqual([]);
  });
});

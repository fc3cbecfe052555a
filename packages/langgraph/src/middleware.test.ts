import { runWithUser } from '@hexgate/core';
import { DynamicStructuredTool } from '@langchain/core/tools';
import { Command, MemorySaver } from '@langchain/langgraph';
import { createAgent } from 'langchain';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { alice, ask, contentOf, enforcer, makeTools, scriptedModel, toolMessages } from './__fixtures__/agents.ts';
import { approve, pendingApprovals, policyMiddleware } from './index.ts';

describe('policyMiddleware (langchain createAgent wrapToolCall)', () => {
  it('allows, denies and interrupts for approval without touching the tools', async () => {
    const { tools, getWeather, executions } = makeTools();
    const originalCall = getWeather.call;
    const recorder = enforcer({ agentName: 'mw-agent' });
    const agent = createAgent({
      model: scriptedModel([
        { name: 'get_weather', args: { city: 'Paris' }, id: 'p' },
        { name: 'get_weather', args: { city: 'Berlin' }, id: 'b' },
        { name: 'delete_file', args: { path: '/tmp/m' }, id: 'd' },
      ]),
      tools,
      middleware: [policyMiddleware({ enforcer: recorder })],
      checkpointer: new MemorySaver(),
    });
    const config = { configurable: { thread_id: 'mw' } };
    const first = await runWithUser(alice, () => agent.invoke(ask(), config));
    expect(executions.map((e) => e.args)).toEqual([{ city: 'Paris' }]);
    const [pending] = pendingApprovals(first);
    expect(pending?.request).toMatchObject({ tool: 'delete_file', toolCallId: 'd', agentName: 'mw-agent' });

    const done = await runWithUser(alice, () =>
      agent.invoke(new Command({ resume: approve(pending!.request) }), config),
    );
    expect(executions.map((e) => [e.args, e.user])).toEqual([
      [{ city: 'Paris' }, 'alice'],
      [{ path: '/tmp/m' }, 'alice'],
    ]);
    const byId = Object.fromEntries(toolMessages(done.messages).map((m) => [m.tool_call_id, m]));
    expect(contentOf(byId.p)).toBe('sunny in Paris');
    expect(byId.b?.status).toBe('error');
    expect(JSON.parse(contentOf(byId.b)).error.type).toBe('policy_denied');
    expect(contentOf(byId.d)).toBe('deleted /tmp/m');
    expect(recorder.decisions.map((d) => [d.decision.tool, d.decision.outcome])).toEqual([
      ['get_weather', 'allow'],
      ['get_weather', 'deny'],
      ['delete_file', 'approval_required'],
      ['delete_file', 'approval_required'],
    ]);
    // The tools themselves were never modified.
    expect(getWeather.call).toBe(originalCall);
    expect(Object.hasOwn(getWeather, 'call')).toBe(false);
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
    const agent = createAgent({
      model: scriptedModel([{ name: 'delete_file', args: { path: '/m' }, id: 'd' }]),
      tools: [deleteFile],
      middleware: [
        policyMiddleware({
          enforcer: recorder,
          approvalHandler: () => {
            cancel.abort();
            return new Promise((resolve) => {
              answer = resolve;
            });
          },
        }),
      ],
    });
    const run = await runWithUser(alice, () => agent.invoke(ask(), { signal: cancel.signal })).catch((e) => e);
    expect((run as Error).name).toBe('AbortError');
    answer(true);
    await vi.waitFor(() => expect(recorder.approvals.map((a) => a.status)).toEqual(['requested', 'rejected']));
    expect(ran).toEqual([]);
  });
});

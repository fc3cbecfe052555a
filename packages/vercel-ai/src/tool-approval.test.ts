import { runWithUser, type User } from '@hexgate/core';
import { type ModelMessage, stepCountIs, streamText } from 'ai';
import { describe, expect, it } from 'vitest';
import { answerApproval, type Kind, runTurn, type TurnResult, type TurnSettings } from './__fixtures__/chat-turn.ts';
import { call, calls, received, scriptedModel, text, toolResultsSent } from './__fixtures__/scripted-model.ts';
import { supportDesk } from './__fixtures__/support-desk.ts';
import { hexgateToolApproval, hexgateTools } from './index.ts';

const support: User = { id: 'sam', roles: ['support'] };
const prompt: ModelMessage = { role: 'user', content: 'refund order A-1' };

/** Chat turns with one model and the gate wired the same way. */
const chat =
  (kind: Kind, model: TurnSettings['model'], settings: Omit<TurnSettings, 'model'>) =>
  (messages: ModelMessage[]): Promise<TurnResult> =>
    runTurn(kind, { model, ...settings }, messages);

describe.each(['generate', 'stream'] as const)('approval_required with %sText', (kind) => {
  const setup = (withHook = true) => {
    const desk = supportDesk();
    const model = scriptedModel(
      calls(call('c1', 'refund_order', { order_id: 'A-1', amount: 60 })),
      text('refund done'),
      text('again'),
    );
    const tools = hexgateTools(desk.tools, { enforcer: desk.enforcer });
    const run = chat(
      kind,
      model,
      withHook ? { tools, toolApproval: hexgateToolApproval({ enforcer: desk.enforcer }) } : { tools },
    );
    return { ...desk, model, run: (messages: ModelMessage[]) => runWithUser(support, () => run(messages)) };
  };

  it('becomes the SDK approval request with the policy reason; nothing runs yet', async () => {
    const { run, executions, enforcer, model } = setup();
    const first = await run([prompt]);
    expect(first.content).toContainEqual(
      expect.objectContaining({
        type: 'tool-approval-request',
        reason: "role 'support' needs human approval to call 'refund_order'",
        toolCall: expect.objectContaining({ toolName: 'refund_order', input: { order_id: 'A-1', amount: 60 } }),
      }),
    );
    expect(executions).toEqual([]);
    expect(received(model)).toHaveLength(1);
    expect(enforcer.approvals.map((a) => a.status)).toEqual(['requested']);
    expect(enforcer.approvals[0]?.decision.outcome).toBe('approval_required');
  });

  it('approved: runs exactly once with the decided arguments; a replayed approval never runs again', async () => {
    const { run, executions, enforcer, model } = setup();
    const first = await run([prompt]);
    const resumed = answerApproval(first, true, 'ok by lead');
    await run(resumed);
    expect(executions).toEqual([
      { tool: 'refund_order', args: { order_id: 'A-1', amount: 60 }, frozen: true, userId: 'sam' },
    ]);
    expect(toolResultsSent(model, 1)).toEqual([
      { toolCallId: 'c1', toolName: 'refund_order', output: { type: 'text', value: 'refunded 60 on A-1' } },
    ]);
    expect(enforcer.approvals.map((a) => [a.status, a.reason])).toEqual([
      ['requested', undefined],
      ['approved', 'ok by lead'],
    ]);
    expect(enforcer.approvals[0]?.argsHash).toBe(enforcer.approvals[1]?.argsHash);

    await run(resumed); // the same approval sent again
    expect(executions).toHaveLength(1);
    const replay = toolResultsSent(model, 2)[0];
    expect(replay?.output.type).toBe('execution-denied');
    expect(replay?.output.reason).toMatch(/^\[approval_required\] .*no pending approval matches/);
  });

  it('denied by the user: never runs and the model gets the reason', async () => {
    const { run, executions, model } = setup();
    const first = await run([prompt]);
    await run(answerApproval(first, false, 'not this one'));
    expect(executions).toEqual([]);
    expect(toolResultsSent(model, 1)).toEqual([
      { toolCallId: 'c1', toolName: 'refund_order', output: { type: 'execution-denied', reason: 'not this one' } },
    ]);
  });

  it('arguments changed after the approval: decided again, not run', async () => {
    const { run, executions, enforcer, model } = setup();
    const first = await run([prompt]);
    const tampered = answerApproval(first, true).map((m) =>
      m.role === 'assistant' && Array.isArray(m.content)
        ? {
            ...m,
            content: m.content.map((p) =>
              p.type === 'tool-call' ? { ...p, input: { order_id: 'A-1', amount: 99 } } : p,
            ),
          }
        : m,
    ) as ModelMessage[];
    await run(tampered);
    expect(executions).toEqual([]);
    expect(toolResultsSent(model, 1)[0]?.output).toMatchObject({ type: 'execution-denied' });
    expect(enforcer.decisions).toHaveLength(2);
    expect(enforcer.decisions[1]?.args).toEqual({ order_id: 'A-1', amount: 99 });
    expect(enforcer.approvals.map((a) => a.status)).toEqual(['requested', 'rejected']);
  });

  it('another user cannot resume the approval', async () => {
    const { run, executions, model, tools, enforcer } = setup();
    const first = await run([prompt]);
    const other = chat(kind, model, {
      tools: hexgateTools(tools, { enforcer }),
      toolApproval: hexgateToolApproval({ enforcer }),
    });
    await runWithUser({ id: 'mallory', roles: ['support'] }, () => other(answerApproval(first, true)));
    expect(executions).toEqual([]);
    expect(enforcer.approvals.map((a) => a.status)).toEqual(['requested']);
  });

  it('without the hook, the gated tools alone still use the native approval flow', async () => {
    const { run, executions, enforcer } = setup(false);
    const first = await run([prompt]);
    expect(first.content.filter((p) => p.type === 'tool-approval-request')).toHaveLength(1);
    expect(executions).toEqual([]);
    await run(answerApproval(first, true));
    expect(executions.map((e) => e.args)).toEqual([{ order_id: 'A-1', amount: 60 }]);
    expect(enforcer.approvals.map((a) => a.status)).toEqual(['requested', 'approved']);
  });
});

describe.each(['generate', 'stream'] as const)('call ids the model repeats, with %sText', (kind) => {
  const wire = (model: TurnSettings['model']) => {
    const desk = supportDesk();
    const options = { enforcer: desk.enforcer };
    const run = chat(kind, model, {
      tools: hexgateTools(desk.tools, options),
      toolApproval: hexgateToolApproval(options),
    });
    return { ...desk, run: (messages: ModelMessage[]) => runWithUser(support, () => run(messages)) };
  };

  it('two calls with one id: approving the request that showed 60 never runs the call with 100', async () => {
    // The SDK resumes the LAST call with an approved id: before, with
    // streamText, the approver saw 60, left 100 unanswered, and 100 ran.
    const model = scriptedModel(
      calls(
        call('x', 'refund_order', { order_id: 'A-1', amount: 60 }),
        call('x', 'refund_order', { order_id: 'A-1', amount: 100 }),
      ),
      text('done'),
    );
    const { run, executions, enforcer } = wire(model);
    const first = await run([prompt]);
    const shown = first.content.filter(
      (p): p is typeof p & { approvalId: string; toolCall: { input: { amount: number } } } =>
        p.type === 'tool-approval-request' && !(p as { isAutomatic?: boolean }).isAutomatic,
    );
    const answers = shown
      .filter((p) => p.toolCall.input.amount === 60)
      .map((p) => ({ type: 'tool-approval-response' as const, approvalId: p.approvalId, approved: true }));
    if (answers.length > 0) await run([...first.history, { role: 'tool', content: answers }]);
    expect(executions).toEqual([]);
    expect(enforcer.approvals.map((a) => a.status)).not.toContain('approved');
    // The repeated id is refused at once; at most the first call is still asking.
    expect(shown.map((p) => p.toolCall.input.amount)).toEqual(kind === 'stream' ? [60] : []);
    expect(enforcer.decisions.slice(0, 3).map((d) => d.decision.outcome)).toEqual([
      'approval_required',
      'approval_required',
      'deny',
    ]);
  });

  it('a call that reuses the id of an earlier call is refused instead of asking for an approval', async () => {
    const model = scriptedModel(
      calls(call('c1', 'get_order', { order_id: 'A-1' })),
      calls(call('c1', 'refund_order', { order_id: 'A-1', amount: 60 })),
      text('done'),
    );
    const { run, executions, enforcer } = wire(model);
    const turn = await run([prompt]);
    expect(executions.map((e) => e.tool)).toEqual(['get_order']);
    expect(turn.content.filter((p) => p.type === 'tool-approval-request')).toMatchObject([{ isAutomatic: true }]);
    expect(toolResultsSent(model, 2).at(-1)?.output.reason).toMatch(/^\[policy_denied\] .*more than one tool call/);
    expect(enforcer.approvals).toEqual([]);
  });
});

describe('approvals and streamText', () => {
  it('allow and deny give the same results as generateText', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const model = scriptedModel(
      calls(call('c1', 'get_order', { order_id: 'A-1' }), call('c2', 'delete_account', { account: 'acme' })),
      text('done'),
    );
    const result = runWithUser(support, () =>
      streamText({
        model,
        tools: hexgateTools(tools, { enforcer }),
        toolApproval: hexgateToolApproval({ enforcer }),
        stopWhen: stepCountIs(3),
        prompt: 'x',
      }),
    );
    expect(await result.text).toBe('done');
    expect(executions.map((e) => e.tool)).toEqual(['get_order']);
    expect(toolResultsSent(model, 1).map((r) => [r.toolCallId, r.output.type])).toEqual([
      ['c1', 'text'],
      ['c2', 'execution-denied'],
    ]);
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['allow', 'deny']);
  });
});

describe('approval state', () => {
  const refund = () =>
    scriptedModel(calls(call('c1', 'refund_order', { order_id: 'A-1', amount: 60 })), text('refund done'));

  it('a shared approvals store lets another server (another enforcer) resume the approval', async () => {
    const shared = new Map();
    const serverA = supportDesk();
    const serverB = supportDesk();
    const model = refund();
    const wire = (desk: ReturnType<typeof supportDesk>) => {
      const options = { enforcer: desk.enforcer, approvals: shared };
      return chat('generate', model, {
        tools: hexgateTools(desk.tools, options),
        toolApproval: hexgateToolApproval(options),
      });
    };
    const first = await runWithUser(support, () => wire(serverA)([prompt]));
    await runWithUser(support, () => wire(serverB)(answerApproval(first, true)));
    expect(serverA.executions).toEqual([]);
    expect(serverB.executions.map((e) => e.args)).toEqual([{ order_id: 'A-1', amount: 60 }]);
    expect(serverA.enforcer.approvals.map((a) => a.status)).toEqual(['requested']);
    expect(serverB.enforcer.approvals.map((a) => a.status)).toEqual(['approved']);
  });

  it('an approval requested for one agent does not run the call for another agent', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const model = refund();
    const agent = (agentName: string) => {
      const options = { enforcer, agentName };
      return chat('generate', model, {
        tools: hexgateTools(tools, options),
        toolApproval: hexgateToolApproval(options),
      });
    };
    const first = await runWithUser(support, () => agent('desk')([prompt]));
    await runWithUser(support, () => agent('back-office')(answerApproval(first, true)));
    expect(executions).toEqual([]);
    expect(toolResultsSent(model, 1)[0]?.output.type).toBe('execution-denied');
    expect(enforcer.approvals.map((a) => a.status)).toEqual(['requested', 'rejected']);
  });

  it('without a shared store, another server refuses the approval it never issued', async () => {
    const serverA = supportDesk();
    const serverB = supportDesk();
    const model = refund();
    const wire = ({ tools, enforcer }: ReturnType<typeof supportDesk>) =>
      chat('generate', model, {
        tools: hexgateTools(tools, { enforcer }),
        toolApproval: hexgateToolApproval({ enforcer }),
      });
    const first = await runWithUser(support, () => wire(serverA)([prompt]));
    await runWithUser(support, () => wire(serverB)(answerApproval(first, true)));
    expect(serverB.executions).toEqual([]);
    expect(toolResultsSent(model, 1)[0]?.output.type).toBe('execution-denied');
  });

  it('fails closed when the approvals store fails: the call is denied, the run goes on', async () => {
    const { tools, enforcer, executions } = supportDesk();
    const broken = {
      get: () => undefined,
      set: () => {
        throw new Error('store down');
      },
      delete: () => false,
    };
    const model = refund();
    const options = { enforcer, approvals: broken };
    const first = await runWithUser(support, () =>
      chat('generate', model, { tools: hexgateTools(tools, options), toolApproval: hexgateToolApproval(options) })([
        prompt,
      ]),
    );
    expect(executions).toEqual([]);
    expect(first.content.filter((p) => p.type === 'tool-approval-request')).toMatchObject([{ isAutomatic: true }]);
    expect(toolResultsSent(model, 1)[0]?.output.reason).toMatch(/^\[policy_denied\] .*store down/);
    // The denial is a decision of its own, so the audit trail shows what the call became.
    expect(enforcer.decisions.map((d) => [d.decision.outcome, d.decision.userId])).toEqual([
      ['approval_required', 'sam'],
      ['deny', 'sam'],
    ]);
    expect(enforcer.decisions[1]?.decision.reason).toMatch(/store down/);
  });

  it("keeps the tool's own needsApproval for calls the policy allows", async () => {
    const { tools, enforcer, executions } = supportDesk();
    const cautious = { ...tools, get_order: { ...tools.get_order, needsApproval: true } };
    for (const toolApproval of [hexgateToolApproval({ enforcer }), undefined]) {
      const model = scriptedModel(calls(call('c1', 'get_order', { order_id: 'A-1' })), text('found'));
      const first = await runWithUser(support, () =>
        chat('generate', model, {
          tools: hexgateTools(cautious, { enforcer }),
          ...(toolApproval ? { toolApproval } : {}),
        })([prompt]),
      );
      expect(first.content.filter((p) => p.type === 'tool-approval-request')).toHaveLength(1);
    }
    expect(executions).toEqual([]);
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['allow', 'allow']);
  });
});

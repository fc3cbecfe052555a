import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runWithUser } from '@hexgate/core';
import {
  Agent,
  applyPatchTool,
  computerTool,
  Runner,
  RunState,
  run,
  type ShellAction,
  setTracingDisabled,
  shellTool,
  type Tool,
} from '@openai/agents';
import { SandboxAgent } from '@openai/agents/sandbox';
import { assistantMessage, functionCall, modelResponder, ScriptedModel } from '@openai/agents/testing';
import { describe, expect, it } from 'vitest';
import {
  computerCall,
  dana,
  guest,
  localEnforcer,
  localOutputSeenByModel,
  messagesSeenByModel,
  olga,
  patchCall,
  recordingComputer,
  recordingEditor,
  recordingShell,
  SCREEN,
  shellCall,
  tempDir,
} from './__fixtures__/local-tools.ts';
import { HexgateRunner, wrapOpenAIAgent } from './index.ts';

setTracingDisabled(true);

const BLANK_IMAGE = /^data:image\/png;base64,iVBORw0KGgo/;

interface OwnApproval {
  readonly needsApproval?: boolean;
  readonly onApproval?: () => Promise<{ approve: boolean }>;
}

function shellAgent(model: ScriptedModel, cwd: string, options: OwnApproval = {}) {
  const { shell, runs } = recordingShell(cwd);
  const tool = shellTool({ shell, ...options });
  return { agent: new Agent({ name: 'devbox', model, tools: [tool] }), runs, tool, shell };
}

const stderrOf = (model: ScriptedModel, callId: string): string | undefined =>
  localOutputSeenByModel(model, callId)?.output?.[0]?.stderr;

describe('shell tool', () => {
  it('runs an allowed command in a real shell with the decided action; a denied one never runs', async () => {
    await using tmp = await tempDir();
    const model = new ScriptedModel([
      [shellCall('s-ok', ['echo hello']), shellCall('s-no', ['touch pwned'])],
      [assistantMessage('done')],
    ]);
    const { agent, runs } = shellAgent(model, tmp.dir);
    const rec = localEnforcer();

    const result = await new HexgateRunner({ enforcer: rec, tracingDisabled: true }).run(agent, 'go', { user: dana });

    expect(result.finalOutput).toBe('done');
    expect(runs).toEqual([{ action: { commands: ['echo hello'] }, user: 'dana' }]);
    expect(Object.isFrozen(runs[0]!.action)).toBe(true); // the enforcer's snapshot, not the SDK's object
    expect(existsSync(join(tmp.dir, 'pwned'))).toBe(false);
    expect(localOutputSeenByModel(model, 's-ok')?.output[0]).toMatchObject({ stdout: 'hello\n', stderr: '' });
    expect(stderrOf(model, 's-no')).toMatch(/^\[policy_denied\] Tool 'shell'/);
    expect(rec.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.decision.agentName, d.args])).toEqual([
      ['shell', 'allow', 'devbox', { commands: ['echo hello'] }],
      ['shell', 'deny', 'devbox', { commands: ['touch pwned'] }],
    ]);
  });

  it('a constraint over every command: one command outside it denies the whole action', async () => {
    await using tmp = await tempDir();
    const model = new ScriptedModel([
      [shellCall('s-ok', ['echo a', 'echo b']), shellCall('s-no', ['echo a', 'touch pwned'])],
      [assistantMessage('done')],
    ]);
    const { agent, runs } = shellAgent(model, tmp.dir);

    await new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true }).run(agent, 'go', { user: dana });

    expect(runs.map((r) => r.action.commands)).toEqual([['echo a', 'echo b']]);
    expect(localOutputSeenByModel(model, 's-ok')?.output.map((o: { stdout: string }) => o.stdout)).toEqual([
      'a\n',
      'b\n',
    ]);
    expect(stderrOf(model, 's-no')).toContain('every(args.commands, startswith(., "echo "))');
    expect(existsSync(join(tmp.dir, 'pwned'))).toBe(false);
  });

  describe('approval_required', () => {
    const script = () => new ScriptedModel([[shellCall('s1', ['echo approved'])], [assistantMessage('done')]]);

    it('pauses with the SDK interruption; approving resumes and runs it exactly once', async () => {
      await using tmp = await tempDir();
      const model = script();
      const { agent, runs } = shellAgent(model, tmp.dir);
      const rec = localEnforcer();
      const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

      const paused = await runner.run(agent, 'go', { user: olga });
      expect(paused.interruptions.map((i) => [i.name, i.rawItem.type])).toEqual([['shell', 'shell_call']]);
      expect(runs).toEqual([]);

      paused.state.approve(paused.interruptions[0]!);
      const resumed = await runner.run(agent, paused.state, { user: olga });

      expect(resumed.finalOutput).toBe('done');
      expect(runs).toEqual([{ action: { commands: ['echo approved'] }, user: 'olga' }]);
      expect(localOutputSeenByModel(model, 's1')?.output[0].stdout).toBe('approved\n');
      expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'approved']);
      expect(rec.approvals[0]!.argsHash).toBe(rec.approvals[1]!.argsHash);
    });

    it('rejecting: the command never runs and the model sees the [approval_required] text', async () => {
      await using tmp = await tempDir();
      const model = script();
      const { agent, runs } = shellAgent(model, tmp.dir);
      const rec = localEnforcer();
      const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

      const paused = await runner.run(agent, 'go', { user: olga });
      paused.state.reject(paused.interruptions[0]!);
      const resumed = await runner.run(agent, paused.state, { user: olga });

      expect(resumed.finalOutput).toBe('done');
      expect(runs).toEqual([]);
      expect(stderrOf(model, 's1')).toMatch(/^\[approval_required\] Tool 'shell' requires human approval/);
      expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'rejected']);
    });

    it('an approval given for other arguments does not count (a sticky alwaysApprove covers only its own call)', async () => {
      await using tmp = await tempDir();
      const model = new ScriptedModel([
        [shellCall('s1', ['echo first'])],
        [shellCall('s2', ['echo second'])],
        [assistantMessage('done')],
      ]);
      const { agent, runs } = shellAgent(model, tmp.dir);
      const runner = new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true });

      const paused = await runner.run(agent, 'go', { user: olga });
      paused.state.approve(paused.interruptions[0]!, { alwaysApprove: true });
      const resumed = await runner.run(agent, paused.state, { user: olga });

      expect(resumed.finalOutput).toBe('done');
      expect(runs.map((r) => r.action.commands)).toEqual([['echo first']]);
      expect(stderrOf(model, 's2')).toMatch(/^\[approval_required\]/);
    });

    it('an approval saved with the run is decided again in a fresh runner and does not transfer to another user', async () => {
      await using tmp = await tempDir();
      for (const [resumer, ran] of [
        [olga, 1],
        [{ id: 'oscar', roles: ['ops'] }, 0],
      ] as const) {
        const model = script();
        const { agent, runs } = shellAgent(model, tmp.dir);
        const first = new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true });
        const saved = (await first.run(agent, 'go', { user: olga })).state.toString();
        const restored = await RunState.fromString(agent, saved);
        restored.approve(restored.getInterruptions()[0]!);

        await new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true }).run(agent, restored, {
          user: resumer,
        });

        expect(runs).toHaveLength(ran);
      }
    });

    it('the tool’s own onApproval answers the tool’s own approvals, never the policy’s', async () => {
      await using tmp = await tempDir();
      const answered: string[] = [];
      const onApproval = async () => {
        answered.push('asked');
        return { approve: true };
      };
      // ops: the policy asks; the handler must not approve on a reviewer's behalf.
      const asked = shellAgent(script(), tmp.dir, { onApproval });
      const runner = new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true });
      const paused = await runner.run(asked.agent, 'go', { user: olga });
      expect(paused.interruptions).toHaveLength(1);
      expect(asked.runs).toEqual([]);
      expect(answered).toEqual([]); // not even consulted

      // dev: the policy allows; the tool's own needsApproval asks and its own handler approves.
      const own = shellAgent(script(), tmp.dir, { needsApproval: true, onApproval });
      const result = await runner.run(own.agent, 'go', { user: dana });
      expect(result.interruptions).toEqual([]);
      expect(own.runs).toHaveLength(1);
      expect(answered).toEqual(['asked']);
    });

    it('with an approvalHandler the call is decided inline, with the exact action, and never pauses', async () => {
      await using tmp = await tempDir();
      const seen: unknown[] = [];
      const { agent, runs } = shellAgent(script(), tmp.dir);
      const runner = new HexgateRunner({
        enforcer: localEnforcer(),
        approvalHandler: (request) => {
          seen.push(request.args);
          return true;
        },
        tracingDisabled: true,
      });
      const result = await runner.run(agent, 'go', { user: olga });
      expect(result.interruptions).toEqual([]);
      expect(seen).toEqual([{ commands: ['echo approved'] }]);
      expect(runs).toHaveLength(1);
    });
  });

  it('a shell tool whose environment names no type is local (the SDK runs it here), so it is gated', async () => {
    await using tmp = await tempDir();
    const { shell, runs } = recordingShell(tmp.dir);
    // A literal ShellTool: the SDK treats `environment?.type ?? 'local'` as local and runs `shell`.
    const literal = { type: 'shell', name: 'shell', environment: {}, shell, needsApproval: async () => false };
    const model = new ScriptedModel([[shellCall('s1', ['touch pwned'])], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'devbox', model, tools: [literal as unknown as Tool] });

    await new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true }).run(agent, 'go', { user: dana });

    expect(runs).toEqual([]);
    expect(existsSync(join(tmp.dir, 'pwned'))).toBe(false);
    expect(stderrOf(model, 's1')).toMatch(/^\[policy_denied\] Tool 'shell'/);
  });

  it('a hosted shell (container environment) runs at the provider and passes through unchanged', () => {
    const hosted = shellTool({ environment: { type: 'container_auto' } });
    const agent = new Agent({ name: 'hosted', tools: [hosted] });
    const gated = wrapOpenAIAgent(agent, { enforcer: localEnforcer() });
    expect(gated.tools[0]).toBe(hosted);
  });
});

describe('apply_patch tool', () => {
  it('writes an allowed path (in a temp dir); a denied path is never written and the model gets a failed result', async () => {
    await using tmp = await tempDir();
    const { editor, operations } = recordingEditor(tmp.dir);
    const model = new ScriptedModel([
      [
        patchCall('p-ok', { type: 'create_file', path: 'src/app.txt', diff: '+hello\n' }),
        patchCall('p-no', { type: 'create_file', path: 'etc/cron.txt', diff: '+* * * * * evil\n' }),
      ],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'coder', model, tools: [applyPatchTool({ editor })] });
    const rec = localEnforcer();

    const result = await new HexgateRunner({ enforcer: rec, tracingDisabled: true }).run(agent, 'go', { user: dana });

    expect(result.finalOutput).toBe('done');
    expect(await readFile(join(tmp.dir, 'src/app.txt'), 'utf8')).toBe('hello');
    expect(existsSync(join(tmp.dir, 'etc'))).toBe(false);
    expect(operations.map((o) => o.path)).toEqual(['src/app.txt']);
    expect(Object.isFrozen(operations[0])).toBe(true);
    expect(localOutputSeenByModel(model, 'p-ok')).toMatchObject({ status: 'completed', output: 'created src/app.txt' });
    expect(localOutputSeenByModel(model, 'p-no')).toMatchObject({
      status: 'failed',
      output: expect.stringMatching(/^\[policy_denied\] Tool 'apply_patch'.*startswith\(args\.path, "src\/"\)/s),
    });
    expect(rec.decisions.map((d) => [d.decision.tool, d.decision.outcome])).toEqual([
      ['apply_patch', 'allow'],
      ['apply_patch', 'deny'],
    ]);
  });

  it('approval_required pauses; approving resumes and applies it once', async () => {
    await using tmp = await tempDir();
    const { editor, operations } = recordingEditor(tmp.dir);
    const model = new ScriptedModel([
      [patchCall('p1', { type: 'create_file', path: 'notes.txt', diff: '+ok\n' })],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'coder', model, tools: [applyPatchTool({ editor })] });
    const runner = new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true });

    const paused = await runner.run(agent, 'go', { user: olga });
    expect(paused.interruptions.map((i) => i.rawItem.type)).toEqual(['apply_patch_call']);
    expect(operations).toEqual([]);
    paused.state.approve(paused.interruptions[0]!);
    await runner.run(agent, paused.state, { user: olga });

    expect(operations.map((o) => o.path)).toEqual(['notes.txt']);
    expect(await readFile(join(tmp.dir, 'notes.txt'), 'utf8')).toBe('ok');
  });
});

describe('computer tool', () => {
  it('an allowed action runs, a denied one does not, and the run continues', async () => {
    const { computer, actions, users } = recordingComputer();
    const model = new ScriptedModel([
      [computerCall('c-ok', [{ type: 'click', x: 10, y: 20, button: 'left' }, { type: 'screenshot' }])],
      [computerCall('c-no', [{ type: 'type', text: 'hunter2' }])],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'browser-bot', model, tools: [computerTool({ computer })] });
    const rec = localEnforcer();

    const result = await new HexgateRunner({ enforcer: rec, tracingDisabled: true }).run(agent, 'go', { user: dana });

    expect(result.finalOutput).toBe('done');
    expect(actions).toEqual([['click', 10, 20, 'left']]);
    expect(users).toEqual(['dana']);
    expect(localOutputSeenByModel(model, 'c-ok')?.output.data).toBe(`data:image/png;base64,${SCREEN}`);
    expect(localOutputSeenByModel(model, 'c-no')?.output.data).toMatch(BLANK_IMAGE);
    expect(rec.decisions.map((d) => [d.decision.tool, d.decision.outcome, d.args])).toEqual([
      ['computer_use_preview', 'allow', { type: 'click', x: 10, y: 20, button: 'left' }],
      ['computer_use_preview', 'allow', { type: 'screenshot' }],
      ['computer_use_preview', 'deny', { type: 'type', text: 'hunter2' }],
    ]);
  });

  it('a batch runs whole or not at all: one denied action stops the allowed ones before it', async () => {
    const { computer, actions } = recordingComputer();
    const model = new ScriptedModel([
      [
        computerCall('c1', [
          { type: 'click', x: 1, y: 2, button: 'left' },
          { type: 'type', text: 'rm -rf /' },
          { type: 'move', x: 3, y: 4 },
        ]),
      ],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'browser-bot', model, tools: [computerTool({ computer })] });
    const rec = localEnforcer();

    await new HexgateRunner({ enforcer: rec, tracingDisabled: true }).run(agent, 'go', { user: dana });

    expect(actions).toEqual([]);
    expect(localOutputSeenByModel(model, 'c1')?.output.data).toMatch(BLANK_IMAGE);
    // Decided up to the first action that may not run.
    expect(rec.decisions.map((d) => d.decision.outcome)).toEqual(['allow', 'deny']);
  });

  it('approval_required: pauses, approving runs the actions once; rejecting runs nothing and the model is told', async () => {
    for (const approve of [true, false]) {
      const { computer, actions } = recordingComputer();
      const model = new ScriptedModel([
        [computerCall('c1', [{ type: 'move', x: 5, y: 6 }])],
        [assistantMessage('done')],
      ]);
      const agent = new Agent({ name: 'browser-bot', model, tools: [computerTool({ computer })] });
      const runner = new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true });

      const paused = await runner.run(agent, 'go', { user: olga });
      expect(paused.interruptions.map((i) => i.rawItem.type)).toEqual(['computer_call']);
      const [item] = paused.interruptions;
      if (approve) paused.state.approve(item!);
      else paused.state.reject(item!);
      const resumed = await runner.run(agent, paused.state, { user: olga });

      expect(resumed.finalOutput).toBe('done');
      expect(actions).toEqual(approve ? [['move', 5, 6]] : []);
      if (!approve)
        expect(messagesSeenByModel(model).join('\n')).toMatch(/\[approval_required\] Tool 'computer_use_preview'/);
    }
  });

  it('a call with no actions still captures the screen: it is decided as a screenshot', async () => {
    const { computer } = recordingComputer();
    const model = new ScriptedModel([[computerCall('c0', [])], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'browser-bot', model, tools: [computerTool({ computer })] });
    const rec = localEnforcer();

    await new HexgateRunner({ enforcer: rec, tracingDisabled: true }).run(agent, 'go', { user: guest });

    expect(localOutputSeenByModel(model, 'c0')?.output.data).toMatch(BLANK_IMAGE);
    expect(rec.decisions.map((d) => [d.decision.outcome, d.args])).toEqual([['deny', { type: 'screenshot' }]]);
  });

  it('identical actions in one call are one request: approving the call runs each of them', async () => {
    const { computer, actions } = recordingComputer();
    const tab = { type: 'keypress', keys: ['TAB'] };
    const model = new ScriptedModel([[computerCall('c1', [tab, tab])], [assistantMessage('done')]]);
    const agent = new Agent({ name: 'browser-bot', model, tools: [computerTool({ computer })] });
    const rec = localEnforcer();
    const runner = new HexgateRunner({ enforcer: rec, tracingDisabled: true });

    const paused = await runner.run(agent, 'go', { user: olga });
    paused.state.approve(paused.interruptions[0]!);
    await runner.run(agent, paused.state, { user: olga });

    expect(actions).toEqual([
      ['keypress', ['TAB']],
      ['keypress', ['TAB']],
    ]);
    expect(localOutputSeenByModel(model, 'c1')?.output.data).toBe(`data:image/png;base64,${SCREEN}`);
    expect(rec.approvals.map((a) => a.status)).toEqual(['requested', 'approved']);
  });

  it('two agent-tool runs of one worker at once (the SDK gives both the same run context): each call runs its own actions', async () => {
    const { computer, actions } = recordingComputer();
    // The worker moves to 1,1 when asked for "one", to 2,2 when asked for "two".
    const respond = modelResponder(({ request }) => {
      const input = request.input as Record<string, any>[];
      if (input.some((i) => i.type === 'computer_call_result')) return [assistantMessage('moved')];
      const n = JSON.stringify(input).includes('one') ? 1 : 2;
      return [computerCall(`c${n}`, [{ type: 'move', x: n, y: n }])];
    });
    const worker = new Agent({
      name: 'worker',
      model: new ScriptedModel([respond, respond, respond, respond]),
      tools: [computerTool({ computer })],
    });
    const boss = new Agent({
      name: 'boss',
      model: new ScriptedModel([
        [
          functionCall('worker', { input: 'one' }, { callId: 'w1' }),
          functionCall('worker', { input: 'two' }, { callId: 'w2' }),
        ],
        [assistantMessage('done')],
      ]),
      tools: [worker.asTool({ toolName: 'worker', toolDescription: 'moves the pointer' })],
    });
    const rec = localEnforcer();

    const result = await new HexgateRunner({ enforcer: rec, tracingDisabled: true }).run(boss, 'go', { user: dana });

    expect(result.finalOutput).toBe('done');
    expect(actions.map(String).sort()).toEqual(['move,1,1', 'move,2,2']);
    expect(
      rec.decisions
        .filter((d) => d.decision.tool === 'computer_use_preview')
        .map((d) => [d.decision.outcome, d.args])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([
      ['allow', { type: 'move', x: 1, y: 1 }],
      ['allow', { type: 'move', x: 2, y: 2 }],
    ]);
  });

  it('works with a computer created per run by an initializer, and disposes the one it created', async () => {
    const { computer, actions } = recordingComputer();
    const disposed: unknown[] = [];
    const model = new ScriptedModel([
      [computerCall('c1', [{ type: 'click', x: 1, y: 1, button: 'left' }])],
      [computerCall('c2', [{ type: 'type', text: 'no' }])],
      [assistantMessage('done')],
    ]);
    const tool = computerTool({
      computer: { create: async () => computer, dispose: ({ computer: c }) => void disposed.push(c) },
    });
    const agent = new Agent({ name: 'browser-bot', model, tools: [tool] });

    await new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true }).run(agent, 'go', { user: dana });

    expect(actions).toEqual([['click', 1, 1, 'left']]);
    expect(disposed).toEqual([computer]);
  });
});

describe('users', () => {
  it('two users (runWithUser) get different decisions for the same shell call', async () => {
    await using tmp = await tempDir();
    const rec = localEnforcer();
    const runsByUser = await Promise.all(
      [dana, guest].map(async (user) => {
        const model = new ScriptedModel([[shellCall('s1', ['echo hi'])], [assistantMessage('done')]]);
        const { agent, runs } = shellAgent(model, tmp.dir);
        const gated = wrapOpenAIAgent(agent, { enforcer: rec });
        await runWithUser(user, () => run(gated, 'go'));
        return [user.id, runs.length, stderrOf(model, 's1') ?? ''] as const;
      }),
    );
    expect(runsByUser).toEqual([
      ['dana', 1, ''],
      ['gus', 0, expect.stringMatching(/^\[policy_denied\]/)],
    ]);
    expect(rec.decisions.map((d) => [d.decision.userId, d.decision.outcome]).sort()).toEqual([
      ['dana', 'allow'],
      ['gus', 'deny'],
    ]);
  });

  it('a user carried only in the run context is found, though the shell is given only the action', async () => {
    await using tmp = await tempDir();
    const model = new ScriptedModel([[shellCall('s1', ['echo hi'])], [assistantMessage('done')]]);
    const { agent, runs } = shellAgent(model, tmp.dir);
    const rec = localEnforcer();
    const gated = wrapOpenAIAgent(agent, { enforcer: rec });

    await new Runner({ tracingDisabled: true }).run(gated, 'go', { context: { user: dana } });

    expect(runs.map((r) => r.action.commands)).toEqual([['echo hi']]);
    expect(rec.decisions.map((d) => [d.decision.userId, d.decision.outcome])).toEqual([['dana', 'allow']]);
  });

  it('a call start is used once: the same action handed to the shell again, outside the run, is not that run’s', async () => {
    await using tmp = await tempDir();
    const model = new ScriptedModel([[shellCall('s1', ['echo hi'])], [assistantMessage('done')]]);
    const { agent, runs } = shellAgent(model, tmp.dir);
    let sdkAction: ShellAction | undefined; // the object the SDK handed the shell
    agent.on('agent_tool_start', (_context, _tool, { toolCall }) => {
      sdkAction = (toolCall as { action: ShellAction }).action;
    });
    const gated = wrapOpenAIAgent(agent, { enforcer: localEnforcer() });
    await new Runner({ tracingDisabled: true }).run(gated, 'go', { context: { user: dana } });

    // Whoever holds that action (dana's, allowed) cannot run it again as part of dana's run.
    const result = await (gated.tools[0] as Extract<Tool, { type: 'shell' }>).shell!.run(sdkAction!);

    expect(runs).toHaveLength(1);
    expect(result.output[0]!.stderr).toMatch(/^\[policy_denied\].*user is unknown/);
  });

  it('fails closed when the call cannot be tied to a run and no user is in scope', async () => {
    await using tmp = await tempDir();
    const { agent, runs } = shellAgent(new ScriptedModel([]), tmp.dir);
    const rec = localEnforcer();
    const gatedShell = (wrapOpenAIAgent(agent, { enforcer: rec }).tools[0] as Extract<Tool, { type: 'shell' }>).shell!;

    const result = await gatedShell.run({ commands: ['echo hi'] });

    expect(runs).toEqual([]);
    expect(result.output[0]!.stderr).toMatch(/^\[policy_denied\].*user is unknown/);
    expect(rec.decisions.map((d) => [d.decision.outcome, d.decision.userId])).toEqual([['deny', undefined]]);
  });
});

describe('sandbox agents', () => {
  it('are refused: their capability tools (exec_command, apply_patch...) are added at run time, outside the gated copy', () => {
    const agent = new SandboxAgent({ name: 'sandboxed', instructions: 'work in the sandbox' });
    expect(() => wrapOpenAIAgent(agent, { enforcer: localEnforcer() })).toThrow(/sandbox agent 'sandboxed'/);
    // Also when it is only reachable through a handoff.
    const triage = new Agent({ name: 'triage', handoffs: [agent] });
    expect(() => new HexgateRunner({ enforcer: localEnforcer() }).gated(triage)).toThrow(TypeError);
  });
});

describe('the application objects are left untouched', () => {
  it('tools, shell, editor and computer are the same objects with the same fields after gating and running', async () => {
    await using tmp = await tempDir();
    const { shell, runs } = recordingShell(tmp.dir);
    const { editor } = recordingEditor(tmp.dir);
    const { computer, actions } = recordingComputer();
    const tools = [shellTool({ shell }), applyPatchTool({ editor }), computerTool({ computer })];
    const fields = (o: object) => ({ ...o });
    const before = {
      tools: tools.map(fields),
      shell: fields(shell),
      editor: fields(editor),
      computer: fields(computer),
    };
    const model = new ScriptedModel([
      [
        shellCall('s1', ['echo hi']),
        patchCall('p1', { type: 'create_file', path: 'src/a.txt', diff: '+a\n' }),
        computerCall('c1', [{ type: 'move', x: 1, y: 1 }]),
      ],
      [assistantMessage('done')],
    ]);
    const agent = new Agent({ name: 'devbox', model, tools });
    const runner = new HexgateRunner({ enforcer: localEnforcer(), tracingDisabled: true });

    const gated = runner.gated(agent);
    await runner.run(agent, 'go', { user: dana });

    expect(gated.tools.every((t, i) => t !== tools[i])).toBe(true);
    expect(agent.tools).toEqual(tools);
    agent.tools.forEach((t, i) => {
      expect(t).toBe(tools[i]);
      expect(fields(t)).toEqual(before.tools[i]);
    });
    expect(fields(shell)).toEqual(before.shell);
    expect(fields(editor)).toEqual(before.editor);
    expect(fields(computer)).toEqual(before.computer);
    expect(runs).toHaveLength(1);
    expect(actions).toEqual([['move', 1, 1]]);

    // The original agent still runs ungated when used directly with the SDK.
    const direct = new ScriptedModel([[shellCall('s2', ['touch direct'])], [assistantMessage('ran')]]);
    await new Runner({ tracingDisabled: true }).run(agent.clone({ model: direct }), 'go');
    expect(existsSync(join(tmp.dir, 'direct'))).toBe(true);
  });
});

import { type FrozenArgs, runWithUser, tryGetUser, type User } from '@hexgate/core';
import { recordingEnforcer } from '@hexgate/core/testing';
import { InMemoryTaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  CallToolResultSchema,
  CancelTaskResultSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ListTasksResultSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closeClients, connect, resolveUser, text } from './__fixtures__/connect.ts';
import { DECISION_META_KEY, withHexgate } from './index.ts';

const POLICY = `
roles:
  default:
    tools:
      read_file:
        mode: allow
        constraints:
          - startswith(args.path, "/srv/")
  operator:
    tools:
      read_file: { mode: allow }
      delete_file:
        mode: approval_required
        constraints:
          - startswith(args.path, "/srv/tmp/")
      late_tool: { mode: allow }
      whoami: { mode: allow }
      schedule: { mode: allow }
`;

const operatorToken: AuthInfo = { token: 't-op', clientId: 'olga', scopes: ['operator'] };

interface Fixture {
  server: McpServer;
  calls: { tool: string; args: unknown; user: User | undefined }[];
}

function buildServer(): Fixture {
  const server = new McpServer({ name: 'files-server', version: '1.0.0' });
  const calls: Fixture['calls'] = [];
  const record = (tool: string, args: unknown) => calls.push({ tool, args, user: tryGetUser() });
  server.registerTool(
    'read_file',
    // The transform runs in the SDK's validation, before the policy decides.
    { description: 'Read a file', inputSchema: { path: z.string().transform((p) => p.trim()) } },
    async (args) => {
      record('read_file', args);
      return { content: [{ type: 'text', text: `contents of ${args.path}` }] };
    },
  );
  server.registerTool(
    'delete_file',
    { description: 'Delete a file', inputSchema: { path: z.string() } },
    async (args) => {
      record('delete_file', args);
      return { content: [{ type: 'text', text: `deleted ${args.path}` }] };
    },
  );
  server.registerTool('whoami', { description: 'Who am I' }, async () => {
    record('whoami', undefined);
    return { content: [{ type: 'text', text: tryGetUser()?.id ?? 'nobody' }] };
  });
  return { server, calls };
}

afterEach(closeClients);

describe('withHexgate(McpServer)', () => {
  it('allows a call and runs the tool with the exact snapshot the policy decided on', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const client = await connect(server);

    const result = await client.callTool({ name: 'read_file', arguments: { path: '  /srv/a.txt ' } });

    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('contents of /srv/a.txt');
    expect(calls).toHaveLength(1);
    const decided = enforcer.decisions[0];
    expect(decided?.decision.outcome).toBe('allow');
    expect(decided?.decision.agentName).toBe('files-server');
    // Decided after the SDK's validation (the trimmed path), and the very same frozen object ran.
    expect(decided?.args).toEqual({ path: '/srv/a.txt' });
    expect(calls[0]?.args).toBe(decided?.args);
    expect(Object.isFrozen(calls[0]?.args)).toBe(true);
  });

  it('denies with an isError [policy_denied] result and never runs the handler', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const client = await connect(server);

    const result = await client.callTool({ name: 'read_file', arguments: { path: '/etc/passwd' } });

    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^\[policy_denied\] Tool 'read_file' is denied by the agent policy: .*startswith/);
    expect(result._meta?.[DECISION_META_KEY]).toMatchObject({ type: 'policy_denied', tool_name: 'read_file' });
    expect(calls).toHaveLength(0);
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['deny']);
  });

  it('denies a tool the caller can never use before schema validation, revealing nothing about it', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const client = await connect(server);

    const malformed = await client.callTool({ name: 'delete_file', arguments: { path: 42 } });
    const missing = await client.callTool({ name: 'no_such_tool', arguments: {} });

    for (const result of [malformed, missing]) {
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^\[policy_denied\]/);
      expect(text(result)).not.toMatch(/validation|not found/i);
    }
    expect(calls).toHaveLength(0);
    expect(enforcer.decisions.map((d) => [d.decision.tool, d.decision.outcome])).toEqual([
      ['delete_file', 'deny'],
      ['no_such_tool', 'deny'],
    ]);
  });

  it('returns the [approval_required] marker by default', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const client = await connect(server, { authInfo: operatorToken });

    const result = await client.callTool({ name: 'delete_file', arguments: { path: '/srv/tmp/old.log' } });

    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^\[approval_required\] Tool 'delete_file' requires human approval/);
    expect(calls).toHaveLength(0);
    expect(enforcer.approvals).toHaveLength(0);
  });

  it('runs an approved call through a pluggable approver with the approved snapshot, and rejects anything but true', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    const asked: { args: FrozenArgs; argsHash: string; user: string | undefined }[] = [];
    withHexgate(server, {
      policy: enforcer,
      resolveUser,
      approvalTimeoutMs: 200,
      approvalHandler: async ({ args, argsHash, decision }) => {
        asked.push({ args, argsHash, user: decision.userId });
        if (args.path === '/srv/tmp/ok.log') return true;
        if (args.path === '/srv/tmp/slow.log') return new Promise(() => {}); // never answers
        return 'yes'; // truthy, but not literally true
      },
    });
    const client = await connect(server, { authInfo: operatorToken });

    const ok = await client.callTool({ name: 'delete_file', arguments: { path: '/srv/tmp/ok.log' } });
    const sloppy = await client.callTool({ name: 'delete_file', arguments: { path: '/srv/tmp/keep.log' } });
    const slow = await client.callTool({ name: 'delete_file', arguments: { path: '/srv/tmp/slow.log' } });

    expect(text(ok)).toBe('deleted /srv/tmp/ok.log');
    expect(calls.map((c) => c.args)).toEqual([{ path: '/srv/tmp/ok.log' }]);
    expect(calls[0]?.args).toBe(asked[0]?.args);
    expect(calls[0]?.user?.id).toBe('olga');
    expect(sloppy.isError).toBe(true);
    expect(text(sloppy)).toMatch(/^\[policy_denied\] .*: approval was not granted\. The tool was not executed/);
    expect(slow.isError).toBe(true);
    expect(text(slow)).toMatch(/^\[policy_denied\] .*approval timed out after 200 ms/);
    expect(asked.map((a) => a.user)).toEqual(['olga', 'olga', 'olga']);
    expect(enforcer.approvals.map((a) => a.status)).toEqual([
      'requested',
      'approved',
      'requested',
      'rejected',
      'requested',
      'expired',
    ]);
    expect(enforcer.approvals[1]?.argsHash).toBe(asked[0]?.argsHash);
  });

  it('a call the client cancels while its approval is pending never runs, even if the approver then says yes', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    let approverSignal: AbortSignal | undefined;
    let approve: (yes: boolean) => void = () => {};
    const asked = new Promise<void>((announce) => {
      withHexgate(server, {
        policy: enforcer,
        resolveUser,
        approvalHandler: ({ signal }) => {
          approverSignal = signal;
          announce();
          return new Promise<boolean>((resolve) => {
            approve = resolve;
          });
        },
      });
    });
    const client = await connect(server, { authInfo: operatorToken });
    const cancel = new AbortController();

    const call = client.callTool({ name: 'delete_file', arguments: { path: '/srv/tmp/old.log' } }, undefined, {
      signal: cancel.signal,
    });
    await asked;
    cancel.abort();
    await expect(call).rejects.toThrow();
    await expect.poll(() => approverSignal?.aborted).toBe(true);
    approve(true);
    // Another call on the same connection completes, so the cancelled one has been settled server-side.
    await client.callTool({ name: 'read_file', arguments: { path: '/srv/a.txt' } });

    expect(calls.map((c) => c.tool)).toEqual(['read_file']);
    expect(enforcer.approvals.map((a) => [a.status, a.reason])).toEqual([
      ['requested', undefined],
      ['rejected', 'the call was cancelled before it was approved'],
    ]);
  });

  it('lists only the tools each caller could be allowed to call', async () => {
    const anonymous = buildServer();
    withHexgate(anonymous.server, { policy: recordingEnforcer({ policy: POLICY }), resolveUser });
    const operator = buildServer();
    withHexgate(operator.server, { policy: recordingEnforcer({ policy: POLICY }), resolveUser });

    const anonTools = await (await connect(anonymous.server)).listTools();
    const opTools = await (await connect(operator.server, { authInfo: operatorToken })).listTools();

    expect(anonTools.tools.map((t) => t.name)).toEqual(['read_file']);
    expect(opTools.tools.map((t) => t.name).sort()).toEqual(['delete_file', 'read_file', 'whoami']);
  });

  it('takes identity from authInfo and runs the handler as that user, ignoring any ambient user', async () => {
    const { server } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const asOperator = await connect(server, { authInfo: operatorToken });
    const other = buildServer();
    withHexgate(other.server, { policy: recordingEnforcer({ policy: POLICY }), resolveUser });
    const anonymous = await connect(other.server);

    const me = await asOperator.callTool({ name: 'whoami', arguments: {} });
    // In-process, the server runs inside the client's async context: a user bound
    // on the client side must not become the server-side caller.
    const leaked = await runWithUser({ id: 'mallory', roles: ['operator'] }, () =>
      anonymous.callTool({ name: 'whoami', arguments: { user: 'olga', roles: ['operator'] } }),
    );

    expect(text(me)).toBe('olga');
    expect(enforcer.decisions[0]?.decision.userId).toBe('olga');
    expect(enforcer.decisions[0]?.decision.roles).toEqual(['operator']);
    expect(leaked.isError).toBe(true);
    expect(text(leaked)).toMatch(/^\[policy_denied\] Tool 'whoami'/);
    expect(other.calls).toHaveLength(0);
  });

  it('denies anonymous callers when requireUser is set', async () => {
    const { server, calls } = buildServer();
    const decisions: string[] = [];
    withHexgate(server, {
      policy: recordingEnforcer({ policy: POLICY }).currentPolicy()!,
      requireUser: true,
      resolveUser,
      onDecision: (e) => decisions.push(e.decision.reason),
    });
    const client = await connect(server);

    const result = await client.callTool({ name: 'read_file', arguments: { path: '/srv/a' } });
    const listed = await client.listTools();

    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/no user in scope/);
    expect(calls).toHaveLength(0);
    expect(listed.tools).toEqual([]);
    expect(decisions).toHaveLength(1);
  });

  it('fails the request when resolveUser throws, instead of treating the caller as anonymous', async () => {
    const { server, calls } = buildServer();
    withHexgate(server, {
      policy: recordingEnforcer({ policy: POLICY }),
      resolveUser: () => {
        throw new Error('token expired');
      },
    });
    const client = await connect(server);

    await expect(client.callTool({ name: 'read_file', arguments: { path: '/srv/a' } })).rejects.toThrow(
      /could not resolve the caller: token expired/,
    );
    expect(calls).toHaveLength(0);
  });

  it('refuses a resolver result that is not a User, instead of deciding for a half-read caller', async () => {
    // Returning the token itself (no `id`), and roles as a string (which would read as the default role).
    const results = [operatorToken, { id: 'olga', roles: 'operator' }];
    const errors: unknown[] = [];
    for (const returned of results) {
      const { server, calls } = buildServer();
      withHexgate(server, { policy: recordingEnforcer({ policy: POLICY }), resolveUser: () => returned as never });
      const client = await connect(server);
      errors.push(await client.callTool({ name: 'whoami', arguments: {} }).catch((e: Error) => e.message));
      expect(calls).toHaveLength(0);
    }

    expect(errors).toEqual([
      expect.stringMatching(/could not resolve the caller: .*`id` is not a string/),
      expect.stringMatching(/could not resolve the caller: .*`roles` is not an array of strings/),
    ]);
  });

  it('resolves the caller once per tool call, anonymous callers included', async () => {
    const { server, calls } = buildServer();
    const resolved: (string | undefined)[] = [];
    withHexgate(server, {
      policy: recordingEnforcer({ policy: POLICY }),
      resolveUser: (extra) => {
        const user = resolveUser(extra);
        resolved.push(user?.id);
        return user;
      },
    });
    const anonymous = await connect(server);

    await anonymous.callTool({ name: 'read_file', arguments: { path: '/srv/a' } });
    await anonymous.callTool({ name: 'read_file', arguments: { path: '/srv/b' } });

    expect(calls.map((c) => c.args)).toEqual([{ path: '/srv/a' }, { path: '/srv/b' }]);
    expect(resolved).toEqual([undefined, undefined]);
  });

  it('decides and runs each call as the caller resolved for it, even when resolveUser refills one shared object', async () => {
    // A careless resolver: one object, refilled from each request's token.
    const shared: { id: string; roles: string[] } = { id: '', roles: [] };
    const server = new McpServer({ name: 'files-server', version: '1.0.0' });
    const ran: { path: string; user: string | undefined }[] = [];
    let entered: () => void = () => {};
    const malloryValidating = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Mallory's call is held in the SDK's (async) schema validation, between the
    // caller being resolved and the decision, while Olga's call goes through.
    const path = z.string().refine(async (p) => {
      if (p === '/home/olga/notes') {
        entered();
        await released;
      }
      return true;
    });
    server.registerTool('read_file', { inputSchema: { path } }, async (args) => {
      ran.push({ path: args.path, user: tryGetUser()?.id });
      return { content: [{ type: 'text', text: 'contents' }] };
    });
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, {
      policy: enforcer,
      resolveUser: (extra) => {
        shared.id = extra.authInfo?.clientId ?? '';
        shared.roles = extra.authInfo?.scopes ?? [];
        return shared;
      },
    });
    const mallory: AuthInfo = { token: 't-m', clientId: 'mallory', scopes: [] };
    const client = await connect(server, {
      authInfo: (message) => (JSON.stringify(message).includes('/home/olga') ? mallory : operatorToken),
    });

    const stolen = client.callTool({ name: 'read_file', arguments: { path: '/home/olga/notes' } });
    await malloryValidating;
    const own = await client.callTool({ name: 'read_file', arguments: { path: '/var/log/app.log' } });
    release();
    const result = await stolen;

    expect(own.isError).toBeFalsy();
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^\[policy_denied\] Tool 'read_file'/);
    expect(ran).toEqual([{ path: '/var/log/app.log', user: 'olga' }]);
    expect(enforcer.decisions.map((d) => [d.decision.userId, d.decision.outcome])).toEqual([
      ['olga', 'allow'],
      ['mallory', 'deny'],
    ]);
  });

  it('gates task creation of an experimental task tool, resolving the caller once per call', async () => {
    const server = new McpServer(
      { name: 'tasks-server', version: '1.0.0' },
      { taskStore: new InMemoryTaskStore(), capabilities: { tasks: { requests: { tools: { call: {} } } } } },
    );
    const created: unknown[] = [];
    server.experimental.tasks.registerToolTask(
      'read_file',
      { inputSchema: { path: z.string() }, execution: { taskSupport: 'optional' } },
      {
        createTask: async (args, extra) => {
          created.push(args);
          const task = await extra.taskStore.createTask({ ttl: 60_000, pollInterval: 1 });
          await extra.taskStore.storeTaskResult(task.taskId, 'completed', {
            content: [{ type: 'text', text: `contents of ${args.path}` }],
          });
          return { task };
        },
        getTask: async (_args, extra) => (await extra.taskStore.getTask(extra.taskId)) as never,
        getTaskResult: async (_args, extra) => (await extra.taskStore.getTaskResult(extra.taskId)) as never,
      },
    );
    const enforcer = recordingEnforcer({ policy: POLICY });
    let resolved = 0;
    withHexgate(server, {
      policy: enforcer,
      resolveUser: (extra) => {
        resolved++;
        return resolveUser(extra);
      },
    });
    const client = await connect(server);

    // A plain call: the SDK creates the task and polls it to completion (its task `extra` is a copy).
    const allowed = await client.callTool({ name: 'read_file', arguments: { path: '/srv/a.txt' } });
    const denied = await client.callTool({ name: 'read_file', arguments: { path: '/etc/passwd' } });

    expect(text(allowed)).toBe('contents of /srv/a.txt');
    expect(created).toEqual([{ path: '/srv/a.txt' }]);
    expect(created[0]).toBe(enforcer.decisions[0]?.args);
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(/^\[policy_denied\] Tool 'read_file'/);
    expect(resolved).toBe(2);
  });

  it("serves a task tool's task only to the caller who created it, also across servers sharing one task store", async () => {
    // Stateless deployments: one server per request, one shared store, no MCP session to scope tasks by.
    const store = new InMemoryTaskStore();
    const taskServer = () => {
      const server = new McpServer(
        { name: 'tasks-server', version: '1.0.0' },
        { taskStore: store, capabilities: { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } } },
      );
      server.experimental.tasks.registerToolTask(
        'read_file',
        { inputSchema: { path: z.string() }, execution: { taskSupport: 'optional' } },
        {
          createTask: async (args, extra) => {
            const task = await extra.taskStore.createTask({ ttl: 60_000, pollInterval: 1 });
            await extra.taskStore.storeTaskResult(task.taskId, 'completed', {
              content: [{ type: 'text', text: `contents of ${args.path}` }],
            });
            return { task };
          },
          getTask: async (_args, extra) => (await extra.taskStore.getTask(extra.taskId)) as never,
          getTaskResult: async (_args, extra) => (await extra.taskStore.getTaskResult(extra.taskId)) as never,
        },
      );
      return withHexgate(server, { policy: recordingEnforcer({ policy: POLICY }), resolveUser });
    };
    const olga = await connect(taskServer(), { authInfo: operatorToken });
    const mallory = await connect(taskServer());

    const { task } = await olga.request(
      {
        method: 'tools/call',
        params: { name: 'read_file', arguments: { path: '/home/olga/secret' }, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema,
    );
    const taskId = task.taskId;
    const olgaList = await olga.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    const olgaResult = await olga.request({ method: 'tasks/result', params: { taskId } }, CallToolResultSchema);
    const malloryList = await mallory.request({ method: 'tasks/list', params: {} }, ListTasksResultSchema);
    const malloryAsks = [
      mallory.request({ method: 'tasks/result', params: { taskId } }, CallToolResultSchema),
      mallory.request({ method: 'tasks/get', params: { taskId } }, GetTaskResultSchema),
      mallory.request({ method: 'tasks/cancel', params: { taskId } }, CancelTaskResultSchema),
    ];

    expect(olgaList.tasks.map((t) => t.taskId)).toEqual([taskId]);
    expect(text(olgaResult)).toBe('contents of /home/olga/secret');
    expect(malloryList.tasks).toEqual([]);
    for (const ask of malloryAsks) await expect(ask).rejects.toThrow(/Task not found/);
  });

  it('rejects unusable options with a clear error, and leaves the server free to be gated properly', async () => {
    const { server, calls } = buildServer();
    const policy = recordingEnforcer({ policy: POLICY });

    expect(() => withHexgate(server, { policy, approvalHandler: true as never })).toThrow(
      /withHexgate: `approvalHandler` must be a function/,
    );
    expect(() => withHexgate(server, { policy, approvalTimeoutMs: -1 })).toThrow(
      /`approvalTimeoutMs` must be a positive/,
    );
    expect(() => withHexgate(server, { policy, agentName: 42 as never })).toThrow(
      /`agentName` must be a non-empty string/,
    );
    expect(() => withHexgate(server, { policy, resolveUser: 'olga' as never })).toThrow(
      /resolveUser must be a function/,
    );
    withHexgate(server, { policy, resolveUser });
    const client = await connect(server);
    const result = await client.callTool({ name: 'read_file', arguments: { path: '/etc/passwd' } });

    expect(text(result)).toMatch(/^\[policy_denied\]/);
    expect(calls).toHaveLength(0);
  });

  it("reports a ready-made enforcer's own agent name, else the server's", async () => {
    const named = buildServer();
    const namedEnforcer = recordingEnforcer({ policy: POLICY, agentName: 'ops-agent' });
    withHexgate(named.server, { policy: namedEnforcer, resolveUser });
    const unnamed = buildServer();
    const unnamedEnforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(unnamed.server, { policy: unnamedEnforcer, resolveUser });

    await (await connect(named.server)).callTool({ name: 'read_file', arguments: { path: '/srv/a' } });
    await (await connect(unnamed.server)).callTool({ name: 'read_file', arguments: { path: '/srv/a' } });

    expect(namedEnforcer.decisions.map((d) => d.decision.agentName)).toEqual(['ops-agent']);
    expect(unnamedEnforcer.decisions.map((d) => d.decision.agentName)).toEqual(['files-server']);
  });

  it('gates tools registered after it was applied, and callbacks swapped with update()', async () => {
    const { server } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const operator = await connect(server, { authInfo: operatorToken });
    const ran: string[] = [];
    const late = server.registerTool('late_tool', { inputSchema: { n: z.number() } }, async ({ n }) => {
      ran.push(`v1:${n}`);
      return { content: [{ type: 'text', text: 'v1' }] };
    });

    const listed = await operator.listTools();
    await operator.callTool({ name: 'late_tool', arguments: { n: 1 } });
    late.update({
      callback: async ({ n }) => {
        ran.push(`v2:${n}`);
        return { content: [{ type: 'text', text: 'v2' }] };
      },
    });
    await operator.callTool({ name: 'late_tool', arguments: { n: 2 } });
    const other = buildServer();
    withHexgate(other.server, { policy: enforcer, resolveUser });
    other.server.registerTool('late_tool', {}, async () => {
      ran.push('anonymous');
      return { content: [] };
    });
    const anonymous = await connect(other.server);
    const denied = await anonymous.callTool({ name: 'late_tool', arguments: {} });

    expect(listed.tools.map((t) => t.name)).toContain('late_tool');
    expect(ran).toEqual(['v1:1', 'v2:2']);
    expect(denied.isError).toBe(true);
    expect(enforcer.decisions.map((d) => [d.decision.tool, d.decision.outcome])).toEqual([
      ['late_tool', 'allow'],
      ['late_tool', 'allow'],
      ['late_tool', 'deny'],
    ]);
  });

  it('leaves malformed arguments to the SDK schema check (no decision, no run) and denies non-JSON values', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    server.registerTool('schedule', { inputSchema: { at: z.string().transform((s) => new Date(s)) } }, async () => ({
      content: [{ type: 'text', text: 'scheduled' }],
    }));
    withHexgate(server, { policy: enforcer, resolveUser });
    const client = await connect(server, { authInfo: operatorToken });

    const wrongType = await client.callTool({ name: 'read_file', arguments: { path: 42 } });
    const beforeSchedule = enforcer.decisions.length;
    const notJson = await client.callTool({ name: 'schedule', arguments: { at: '2030-01-01' } });

    expect(wrongType.isError).toBe(true);
    expect(text(wrongType)).toMatch(/Input validation error/);
    expect(beforeSchedule).toBe(0);
    expect(notJson.isError).toBe(true);
    expect(text(notJson)).toMatch(/^\[policy_denied\] .*invalid arguments/);
    expect(calls).toHaveLength(0);
  });

  it('decides a __proto__ key passed through by the schema as data, and runs the tool with it', async () => {
    const server = new McpServer({ name: 'files-server', version: '1.0.0' });
    const seen: unknown[] = [];
    server.registerTool('late_tool', { inputSchema: { data: z.unknown() } }, async (args) => {
      seen.push(args);
      return { content: [{ type: 'text', text: 'ok' }] };
    });
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const client = await connect(server, { authInfo: operatorToken });

    const result = await client.callTool({
      name: 'late_tool',
      arguments: JSON.parse('{"data":{"__proto__":{"role":"admin"},"n":1}}'),
    });

    expect(text(result)).toBe('ok');
    const decided = enforcer.decisions[0]?.args as { data: object } | undefined;
    expect(seen[0]).toBe(decided);
    expect(Object.getPrototypeOf(decided?.data)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(decided?.data, '__proto__')?.value).toEqual({ role: 'admin' });
  });

  it('in shadow mode reports the deny but runs the call and hides nothing', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY, mode: 'shadow' });
    withHexgate(server, { policy: enforcer, resolveUser });
    const client = await connect(server);

    const listed = await client.listTools();
    const result = await client.callTool({ name: 'delete_file', arguments: { path: '/srv/x' } });

    expect(listed.tools.map((t) => t.name).sort()).toEqual(['delete_file', 'read_file', 'whoami']);
    expect(text(result)).toBe('deleted /srv/x');
    expect(calls).toHaveLength(1);
    expect(enforcer.decisions.map((d) => [d.decision.outcome, d.decision.effective])).toEqual([['deny', 'allow']]);
  });

  it("gates a tools/call handler set on server.server after wrapping (it silently replaced McpServer's own)", async () => {
    const { server } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const seen: { args: unknown; user: string | undefined }[] = [];
    // Protocol.setRequestHandler replaces without asking; before, this handler ran every call undecided.
    server.server.setRequestHandler(CallToolRequestSchema, async (request) => {
      seen.push({ args: request.params.arguments, user: tryGetUser()?.id });
      return { content: [{ type: 'text', text: `custom ${request.params.name}` }] };
    });
    const client = await connect(server);

    const denied = await client.callTool({ name: 'read_file', arguments: { path: '/etc/passwd' } });
    const allowed = await client.callTool({ name: 'read_file', arguments: { path: '/srv/a.txt' } });

    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(/^\[policy_denied\] Tool 'read_file'/);
    expect(text(allowed)).toBe('custom read_file');
    expect(seen).toEqual([{ args: { path: '/srv/a.txt' }, user: undefined }]);
    expect(seen[0]?.args).toBe(enforcer.decisions[1]?.args);
    expect(enforcer.decisions.map((d) => d.decision.outcome)).toEqual(['deny', 'allow']);
  });

  it('gates tools/call reaching fallbackRequestHandler once the tools/call handler is removed', async () => {
    const { server, calls } = buildServer();
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const seen: unknown[] = [];
    server.server.removeRequestHandler('tools/call');
    server.server.fallbackRequestHandler = async (request) => {
      seen.push((request.params as { arguments?: unknown } | undefined)?.arguments);
      return { content: [{ type: 'text', text: 'fallback ran' }] } as never;
    };
    const client = await connect(server);

    const denied = await client.callTool({ name: 'read_file', arguments: { path: '/etc/passwd' } });
    const allowed = await client.callTool({ name: 'read_file', arguments: { path: '/srv/b.txt' } });

    expect(text(denied)).toMatch(/^\[policy_denied\] Tool 'read_file'/);
    expect(text(allowed)).toBe('fallback ran');
    expect(seen).toEqual([{ path: '/srv/b.txt' }]);
    expect(seen[0]).toBe(enforcer.decisions[1]?.args);
    expect(calls).toHaveLength(0);
  });

  it("gated before its first tool, McpServer's own tools/call handler is still told apart from a foreign one", async () => {
    const server = new McpServer({ name: 'files-server', version: '1.0.0' });
    const enforcer = recordingEnforcer({ policy: POLICY });
    withHexgate(server, { policy: enforcer, resolveUser });
    const seen: unknown[] = [];
    server.registerTool('read_file', { inputSchema: { path: z.string().transform((p) => p.trim()) } }, async (args) => {
      seen.push(args);
      return { content: [{ type: 'text', text: 'read' }] };
    });
    const client = await connect(server);

    const result = await client.callTool({ name: 'read_file', arguments: { path: ' /srv/a ' } });

    // Decided once, in the callback slot, on the validated value (a foreign handler would decide the raw one).
    expect(text(result)).toBe('read');
    expect(enforcer.decisions.map((d) => d.args)).toEqual([{ path: '/srv/a' }]);
    expect(seen[0]).toBe(enforcer.decisions[0]?.args);
  });

  it('refuses a tools/call handler installed past the gate, and one set on server.server before it', async () => {
    // A setter captured before gating reaches the handler map without going through the gate.
    const { server, calls } = buildServer();
    const setEarly = server.server.setRequestHandler.bind(server.server);
    withHexgate(server, { policy: recordingEnforcer({ policy: POLICY }), resolveUser });
    const ran: string[] = [];
    setEarly(CallToolRequestSchema, async () => {
      ran.push('ungated');
      return { content: [] };
    });
    const client = await connect(server);
    await expect(client.callTool({ name: 'read_file', arguments: { path: '/srv/a' } })).rejects.toThrow(
      /not installed through the gated server/,
    );
    expect(ran).toEqual([]);
    expect(calls).toEqual([]);

    const early = new McpServer({ name: 'custom', version: '1.0.0' });
    early.server.registerCapabilities({ tools: {} });
    early.server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [] }));
    expect(() => withHexgate(early, { policy: recordingEnforcer({ policy: POLICY }) })).toThrow(
      /tools\/call handler was set on server.server directly/,
    );
  });

  it('refuses to gate the same server twice', () => {
    const { server } = buildServer();
    withHexgate(server, { policy: recordingEnforcer({ policy: POLICY }) });
    expect(() => withHexgate(server, { policy: recordingEnforcer({ policy: POLICY }) })).toThrow(/already gated/);
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type ApprovalHandler, loadPolicySync, type User } from '@hexgate/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { text } from '../__fixtures__/connect.ts';
import { startProxy as startProxyOn, stopProxies } from '../__fixtures__/proxy-run.ts';
import { runMcpProxy, toolDefinitionHash } from '../index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const PKG_DIR = join(here, '..', '..');
const FIXTURES = join(here, '..', '__fixtures__');
const SERVER = join(FIXTURES, 'fixture-server.ts');
const POLICY_FILE = join(FIXTURES, 'proxy-policy.yaml');
const policy = loadPolicySync(POLICY_FILE);
// The child server is plain TypeScript run through tsx, like `npx some-mcp-server` would be.
const serverCommand = [process.execPath, '--import', 'tsx', SERVER] as const;

afterEach(stopProxies);

/** A proxy in front of a real child-process server. */
const startProxy = (options: { user?: User; pinFile?: string; approvalHandler?: ApprovalHandler } = {}) => {
  const [command, ...args] = serverCommand;
  return startProxyOn({ policy, command, args, cwd: PKG_DIR, ...options });
};

async function ran(client: Client): Promise<{ tool: string; args: unknown }[]> {
  return JSON.parse(text(await client.callTool({ name: 'calls', arguments: {} })));
}

describe('runMcpProxy (stdio gateway)', () => {
  it('forwards allowed calls, answers denials and approvals itself, and filters tools/list', async () => {
    const { client, decisions } = await startProxy({ user: { id: 'dana' } });

    const listed = await client.listTools();
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    const del = await client.callTool({ name: 'delete_file', arguments: { path: '/etc/hosts' } });
    const transfer = await client.callTool({ name: 'transfer', arguments: { amount: 50 } });
    const tooMuch = await client.callTool({ name: 'transfer', arguments: { amount: 5000 } });

    expect(listed.tools.map((t) => t.name).sort()).toEqual(['calls', 'echo', 'rug_pull', 'transfer', 'weather']);
    expect(text(echo)).toBe('hi');
    expect(del.isError).toBe(true);
    expect(text(del)).toMatch(/^\[policy_denied\] Tool 'delete_file'/);
    expect(text(transfer)).toMatch(/^\[approval_required\] Tool 'transfer'/);
    expect(text(tooMuch)).toMatch(/^\[policy_denied\] .*args\.amount <= 100/);
    // Only echo reached the server.
    expect(await ran(client)).toEqual([{ tool: 'echo', args: { text: 'hi' } }]);
    expect(decisions.map((d) => [d.decision.tool, d.decision.outcome])).toEqual([
      ['echo', 'allow'],
      ['delete_file', 'deny'],
      ['transfer', 'approval_required'],
      ['transfer', 'deny'],
      ['calls', 'allow'],
    ]);
    expect(decisions[0]?.decision.agentName).toBe('fixture-server');
    expect(decisions[0]?.decision.userId).toBe('dana');
  });

  it('decides per the fixed user: an admin proxy lists and runs what a default one cannot', async () => {
    const { client } = await startProxy({ user: { id: 'ada', roles: ['admin'] } });

    const listed = await client.listTools();
    const del = await client.callTool({ name: 'delete_file', arguments: { path: '/tmp/x' } });

    expect(listed.tools.map((t) => t.name)).toContain('delete_file');
    expect(text(del)).toBe('deleted /tmp/x');
  });

  it('checks calls made without listing first against the server definitions it reads itself', async () => {
    const { client, decisions } = await startProxy();

    const echo = await client.callTool({ name: 'echo', arguments: { text: 'no list needed' } });
    const ghost = await client.callTool({ name: 'ghost', arguments: {} });

    expect(text(echo)).toBe('no list needed');
    expect(text(ghost)).toMatch(/^\[policy_denied\] Tool 'ghost'/);
    expect(decisions.map((d) => d.decision.outcome)).toEqual(['allow', 'deny']);
  });

  it('blocks a tool whose description changed mid-session until an operator accepts it in the pin file', async () => {
    const pinFile = join(mkdtempSync(join(tmpdir(), 'hexgate-pins-')), 'pins.json');
    const { client, decisions, stderr } = await startProxy({ pinFile });

    const before = await client.listTools();
    const original = before.tools.find((t) => t.name === 'weather');
    const pinned = JSON.parse(readFileSync(pinFile, 'utf8')).tools.weather;
    expect(pinned).toBe(toolDefinitionHash(original as never));
    expect(text(await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } }))).toBe('sunny in Oslo');

    await client.callTool({ name: 'rug_pull', arguments: {} });
    const poisoned = await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } });
    const after = await client.listTools();

    expect(poisoned.isError).toBe(true);
    expect(text(poisoned)).toMatch(/^\[policy_denied\] Tool 'weather' .*definition changed since it was pinned/);
    expect(after.tools.map((t) => t.name)).not.toContain('weather');
    expect(stderr()).toMatch(/tool 'weather' changed since it was pinned/);
    expect(decisions.at(-1)?.decision).toMatchObject({ tool: 'weather', outcome: 'deny', agentName: 'fixture-server' });
    expect(decisions.at(-1)?.args).toEqual({ city: 'Oslo' });
    expect((await ran(client)).filter((c) => c.tool === 'weather')).toHaveLength(1);

    // The operator reviews the new description and accepts it by pinning its hash.
    const newHash = /now ([0-9a-f]{64})/.exec(stderr())?.[1] as string;
    const file = JSON.parse(readFileSync(pinFile, 'utf8'));
    writeFileSync(pinFile, JSON.stringify({ ...file, tools: { ...file.tools, weather: newHash } }));
    const accepted = await client.callTool({ name: 'weather', arguments: { city: 'Rome' } });

    expect(text(accepted)).toBe('sunny in Rome');
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('weather');
  });

  it('rejects malformed arguments without forwarding them, and denies arguments core refuses', async () => {
    const { client, decisions } = await startProxy();
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = { deep };

    await expect(
      client.request(
        { method: 'tools/call', params: { name: 'echo', arguments: 'oops' as never } },
        CallToolResultSchema,
      ),
    ).rejects.toThrow(/arguments must be an object/);
    const tooDeep = await client.callTool({ name: 'echo', arguments: { text: deep } });

    expect(tooDeep.isError).toBe(true);
    expect(text(tooDeep)).toMatch(/^\[policy_denied\] .*invalid arguments/);
    expect(decisions.map((d) => d.decision.outcome)).toEqual(['deny']);
    expect(await ran(client)).toEqual([]);
  });

  it('never forwards a tools/call notification or batch, and refuses request ids reserved for its own requests', async () => {
    const { client, decisions, stderr, send, stdout } = await startProxy({ user: { id: 'ada', roles: ['admin'] } });

    send({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/tmp/n' } } });
    // JSON-RPC batches left MCP (2025-06-18): one is not a message, and none of its calls is decided or sent.
    send([{ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'delete_file', arguments: { path: '/b' } } }]);
    send({ jsonrpc: '2.0', id: 'hexgate-proxy/1', method: 'tools/list' });
    const calls = await ran(client);

    expect(stderr()).toMatch(/dropped a tools\/call notification/);
    expect(stderr()).toMatch(/ignored an invalid message from the client/);
    expect(stdout()).toContain('{"jsonrpc":"2.0","id":"hexgate-proxy/1","error":{"code":-32600');
    expect(calls).toEqual([]);
    expect(decisions.map((d) => d.decision.tool)).toEqual(['calls']);
  });

  it('never forwards a call the client cancelled while it was being decided (an approver was still asked)', async () => {
    let asked: () => void = () => {};
    const asking = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let approve: (answer: boolean) => void = () => {};
    const approvalHandler = () => {
      asked();
      return new Promise<boolean>((resolve) => {
        approve = resolve;
      });
    };
    const { client, stderr } = await startProxy({ approvalHandler });
    const abort = new AbortController();

    const call = client.callTool({ name: 'transfer', arguments: { amount: 50 } }, undefined, { signal: abort.signal });
    await asking;
    abort.abort(); // the client sends notifications/cancelled for the call
    await expect(call).rejects.toThrow(/abort/i);
    approve(true); // too late: nobody is waiting for this call any more
    await new Promise((resolve) => setImmediate(resolve)); // the proxy is done with it (no timers on that path)

    expect(await ran(client)).toEqual([]);
    expect(stderr()).toMatch(/did not forward tools\/call \d+: the client cancelled it/);
  });

  it('refuses a user it could not decide for, before launching anything', async () => {
    const options = { policy, command: join(FIXTURES, 'no-such-server'), stderr: new PassThrough() };

    await expect(runMcpProxy({ ...options, user: { id: 'ada', roles: 'admin' as never } })).rejects.toThrow(
      /runMcpProxy: `user` is not a User .*`roles` is not an array of strings/,
    );
    await expect(runMcpProxy({ ...options, approvalTimeoutMs: 0 })).rejects.toThrow(/`approvalTimeoutMs` must be/);
  });

  it('resolves with the server exit code, and 127 when it cannot be started', async () => {
    const proxy = await startProxy();
    expect(await proxy.stop()).toBe(0);

    const errors = new PassThrough();
    const code = await runMcpProxy({
      policy,
      command: join(FIXTURES, 'no-such-server'),
      stdin: new PassThrough(),
      stdout: new PassThrough(),
      stderr: errors,
    });
    expect(code).toBe(127);
    expect(String(errors.read())).toMatch(/could not start/);
  });
});

describe('proxy over real stdio (client -> proxy process -> server process)', () => {
  it('gates a child-process server end to end', async () => {
    const bin = join(FIXTURES, 'proxy-bin.ts');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        '--conditions=@hexgate/source',
        '--import',
        'tsx',
        bin,
        '--policy',
        POLICY_FILE,
        '--user',
        'ada',
        '--role',
        'admin',
        '--',
        ...serverCommand,
      ],
      cwd: PKG_DIR,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const listed = await client.listTools();
      const del = await client.callTool({ name: 'delete_file', arguments: { path: '/tmp/y' } });
      const big = await client.callTool({ name: 'transfer', arguments: { amount: 1e6 } });

      expect(listed.tools.map((t) => t.name)).toContain('delete_file');
      expect(text(del)).toBe('deleted /tmp/y');
      expect(text(big)).toMatch(/^\[policy_denied\] Tool 'transfer'/);
      expect((await ran(client)).map((c) => c.tool)).toEqual(['delete_file']);
    } finally {
      await client.close();
    }
  });
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { InvalidOptionsError, type User } from '@hexgate/core';
import { testPolicy } from '@hexgate/core/testing';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { text } from '../__fixtures__/connect.ts';
import { type HttpMcpServer, startHttpMcpServer } from '../__fixtures__/http-server.ts';
import { startProxy as startProxyOn, stopProxies } from '../__fixtures__/proxy-run.ts';
import { runMcpProxy } from '../index.ts';

const policy = testPolicy(`
roles:
  base:
    is_mixin: true
    tools:
      echo: { mode: allow }
      weather: { mode: allow }
      rug_pull: { mode: allow }
      hang: { mode: allow }
      stall: { mode: allow }
      transfer:
        mode: approval_required
        constraints:
          - args.amount <= 100
  default:
    inherits: [base]
  admin:
    inherits: [base]
    tools:
      delete_file: { mode: allow }
`);

const TOKEN = 'Bearer s3cret-token-for-tests';

const servers: HttpMcpServer[] = [];
afterEach(async () => {
  await stopProxies();
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});

async function remote(options: { token?: string } = {}): Promise<HttpMcpServer> {
  const server = await startHttpMcpServer(options);
  servers.push(server);
  return server;
}

/** A proxy in front of `server`, with a real MCP client connected to it unless `connect: false`. */
const startProxy = (
  server: HttpMcpServer,
  options: {
    user?: User;
    headers?: Record<string, string>;
    pinFile?: string;
    signal?: AbortSignal;
    connect?: boolean;
  } = {},
) => {
  const { connect, ...proxyOptions } = options;
  return startProxyOn({ policy, url: server.url, ...proxyOptions }, { connect });
};

describe('runMcpProxy in front of a remote Streamable HTTP server', () => {
  it('forwards allowed calls with the decided arguments; denials and approvals never reach the server', async () => {
    const server = await remote();
    const { client, decisions } = await startProxy(server, { user: { id: 'dana' } });

    const listed = await client.listTools();
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    const del = await client.callTool({ name: 'delete_file', arguments: { path: '/etc/hosts' } });
    const transfer = await client.callTool({ name: 'transfer', arguments: { amount: 50 } });
    const tooMuch = await client.callTool({ name: 'transfer', arguments: { amount: 5000 } });

    expect(listed.tools.map((t) => t.name).sort()).toEqual([
      'echo',
      'hang',
      'rug_pull',
      'stall',
      'transfer',
      'weather',
    ]);
    expect(text(echo)).toBe('hi');
    expect(del.isError).toBe(true);
    expect(text(del)).toMatch(/^\[policy_denied\] Tool 'delete_file'/);
    expect(transfer.isError).toBe(true);
    expect(text(transfer)).toMatch(/^\[approval_required\] Tool 'transfer'/);
    expect(text(tooMuch)).toMatch(/^\[policy_denied\] .*args\.amount <= 100/);
    expect(server.ran).toEqual([{ tool: 'echo', args: { text: 'hi' } }]);
    expect(decisions.map((d) => [d.decision.tool, d.decision.outcome])).toEqual([
      ['echo', 'allow'],
      ['delete_file', 'deny'],
      ['transfer', 'approval_required'],
      ['transfer', 'deny'],
    ]);
    expect(decisions[0]?.decision).toMatchObject({ agentName: 'remote-server', userId: 'dana' });
  });

  it('decides for the fixed user: an admin proxy lists and runs what a default one cannot', async () => {
    const server = await remote();
    const { client } = await startProxy(server, { user: { id: 'ada', roles: ['admin'] } });

    const listed = await client.listTools();
    const del = await client.callTool({ name: 'delete_file', arguments: { path: '/tmp/x' } });

    expect(listed.tools.map((t) => t.name)).toContain('delete_file');
    expect(text(del)).toBe('deleted /tmp/x');
    expect(server.ran).toEqual([{ tool: 'delete_file', args: { path: '/tmp/x' } }]);
  });

  it('hides and denies a remote tool whose definition changed after it was pinned', async () => {
    const server = await remote();
    const pinFile = join(mkdtempSync(join(tmpdir(), 'hexgate-pins-')), 'pins.json');
    const { client, stderr } = await startProxy(server, { pinFile });

    await client.listTools();
    expect(text(await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } }))).toBe('sunny in Oslo');
    await client.callTool({ name: 'rug_pull', arguments: {} });
    const after = await client.listTools();
    const poisoned = await client.callTool({ name: 'weather', arguments: { city: 'Oslo' } });

    expect(after.tools.map((t) => t.name)).not.toContain('weather');
    expect(poisoned.isError).toBe(true);
    expect(text(poisoned)).toMatch(/^\[policy_denied\] Tool 'weather' .*definition changed since it was pinned/);
    expect(stderr()).toMatch(/tool 'weather' changed since it was pinned/);
    expect(server.ran.filter((r) => r.tool === 'weather')).toHaveLength(1);
  });

  it('sends the configured headers and the negotiated protocol version on every request, ends the session with DELETE, and never logs the headers', async () => {
    const server = await remote({ token: 's3cret-token-for-tests' });
    const proxy = await startProxy(server, { headers: { Authorization: TOKEN } });

    const echo = await proxy.client.callTool({ name: 'echo', arguments: { text: 'authorized' } });
    const code = await proxy.stop();

    expect(text(echo)).toBe('authorized');
    expect(code).toBe(0);
    const methods = new Set(server.requests.map((r) => r.method));
    expect(methods).toEqual(new Set(['POST', 'GET', 'DELETE']));
    expect(server.requests.every((r) => r.authorization === TOKEN)).toBe(true);
    const session = server.requests.find((r) => r.sessionId !== undefined)?.sessionId;
    expect(server.requests.at(-1)).toMatchObject({ method: 'DELETE', sessionId: session });
    // The initialize goes without a version; every request after it carries the one the server answered with.
    expect(server.requests.map((r) => r.protocolVersion)).toEqual([
      undefined,
      ...server.requests.slice(1).map(() => LATEST_PROTOCOL_VERSION),
    ]);
    expect(proxy.stderr()).not.toContain('s3cret');
  });

  it('ends the session with DELETE and resolves 0 when its signal aborts', async () => {
    const server = await remote();
    const abort = new AbortController();
    const proxy = await startProxy(server, { signal: abort.signal });
    await proxy.client.listTools();

    abort.abort();

    expect(await proxy.exit).toBe(0);
    expect(server.requests.at(-1)).toMatchObject({ method: 'DELETE', sessionId: expect.any(String) });
  });

  it('fails closed when the server refuses the credentials: the client gets an error, the proxy exits 1', async () => {
    const server = await remote({ token: 's3cret-token-for-tests' });
    const proxy = await startProxy(server, { headers: { Authorization: 'Bearer wrong-s3cret-token' }, connect: false });

    await expect(proxy.connect()).rejects.toThrow(/initialize not answered: the server answered HTTP 401/);
    expect(await proxy.exit).toBe(1);
    expect(proxy.stderr()).toMatch(/failed: the server answered HTTP 401/);
    expect(proxy.stderr()).not.toContain('s3cret');
  });

  it('answers a call the server refused with HTTP 500 with a JSON-RPC error, and keeps going', async () => {
    const server = await remote();
    const proxy = await startProxy(server);
    await proxy.client.listTools();

    server.answerNextPost(500);
    const failed = proxy.client.callTool({ name: 'echo', arguments: { text: 'lost' } });
    await expect(failed).rejects.toThrow(/MCP error -32603: .*tools\/call not answered: the server answered HTTP 500/);
    const next = await proxy.client.callTool({ name: 'echo', arguments: { text: 'next' } });

    expect(text(next)).toBe('next');
    expect(server.ran).toEqual([{ tool: 'echo', args: { text: 'next' } }]);
    expect(proxy.stderr()).toMatch(/answered request \d+ with an error: the server answered HTTP 500/);
  });

  it('never hands a header value to the client, even in an error that quotes one', async () => {
    const server = await remote();
    const proxy = await startProxy(server, { headers: { 'X-Api-Key': 'k3y-s3cret' } });
    await proxy.client.listTools();

    // A broken server (or a proxy in front of it) that echoes the key as its "JSON" answer: the parse error quotes it.
    server.answerNextPost(200, { contentType: 'application/json', body: 'k3y-s3cret' });
    const failed = proxy.client.callTool({ name: 'echo', arguments: { text: 'lost' } });

    await expect(failed).rejects.toThrow(/tools\/call not answered: .*\[redacted\]/);
    await expect(failed).rejects.not.toThrow(/s3cret/);
    expect(proxy.stderr()).toMatch(/answered request \d+ with an error: .*\[redacted\]/);
    expect(proxy.stderr()).not.toContain('s3cret');
  });

  it('answers a call whose response stream breaks with a JSON-RPC error, then exits 1 once the server is gone', async () => {
    const server = await remote();
    const proxy = await startProxy(server);

    let started: () => void = () => {};
    const answering = new Promise<void>((resolve) => {
      started = resolve;
    });
    const call = proxy.client.callTool({ name: 'stall', arguments: {} }, undefined, { onprogress: () => started() });
    await answering; // the server's response stream is open and carrying data
    await server.kill();

    await expect(call).rejects.toThrow(
      /tools\/call not answered: the connection to the server dropped before it answered \(the call may or may not have run\)/,
    );
    expect(await proxy.exit).toBe(1);
    expect(proxy.stderr()).toMatch(/answered request \d+ with an error: the connection to the server dropped/);
    expect(proxy.stderr()).toMatch(
      /the server at http:\/\/127\.0\.0\.1:\d+\/mcp failed: connection failed: fetch failed/,
    );
    expect(server.ran.map((r) => r.tool)).toEqual(['stall']);
  });

  it('answers a call whose response stream the server ended without answering it with a JSON-RPC error', async () => {
    const server = await remote();
    const proxy = await startProxy(server);

    const call = proxy.client.callTool({ name: 'hang', arguments: {} });
    await server.hanging;
    await server.forgetSessions(); // closes the call's response stream cleanly, with no answer on it

    await expect(call).rejects.toThrow(/MCP error -32000: .*tools\/call not answered: the server ended its response/);
    expect(proxy.stderr()).toMatch(
      /answered request \d+ with an error: the server ended its response without answering/,
    );
  });

  it('answers a pending call with a JSON-RPC error when the server goes away before answering, and exits 1', async () => {
    const server = await remote();
    const proxy = await startProxy(server);

    const call = proxy.client.callTool({ name: 'hang', arguments: {} });
    await server.hanging;
    await server.kill();

    // Whether the connection broke before or after the response began depends on when node:http sent its headers.
    await expect(call).rejects.toThrow(/tools\/call not answered: .*connection/);
    expect(await proxy.exit).toBe(1);
    expect(proxy.stderr()).toMatch(/failed: connection failed: fetch failed/);
  });

  it('exits 1 when the server forgot the session (a restart): reopening its event stream gets 404', async () => {
    const server = await remote();
    const proxy = await startProxy(server);
    expect(text(await proxy.client.callTool({ name: 'echo', arguments: { text: 'before' } }))).toBe('before');

    await server.forgetSessions(); // its event stream ends; reopening it gets 404

    expect(await proxy.exit).toBe(1);
    expect(proxy.stderr()).toMatch(/failed: the server answered HTTP 404; exiting/);
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', sessionId: expect.any(String) });
  });

  it('answers the initialize with an error and exits 1 when the server cannot be reached at all', async () => {
    const server = await remote();
    await server.kill();
    const proxy = await startProxy(server, { connect: false });

    await expect(proxy.connect()).rejects.toThrow(
      /initialize not answered: connection failed: fetch failed \(.*ECONNREFUSED/,
    );
    expect(await proxy.exit).toBe(1);
  });
});

describe('runMcpProxy options for a remote server', () => {
  const base = { policy, stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };

  it.each([
    ['both command and url', { command: 'node', url: 'https://mcp.example.com/mcp' }, /either `command` .* or `url`/],
    ['neither command nor url', {}, /`command` .* or `url` .* is required/],
    ['a url that is not http(s)', { url: 'ftp://mcp.example.com/mcp' }, /must be an http: or https: URL, not ftp:/],
    ['a url that is not a URL', { url: 'mcp.example.com' }, /`url` is not a valid URL/],
    ['credentials in the url', { url: 'https://u:pw@mcp.example.com/mcp' }, /must not contain credentials/],
    ['headers with a command', { command: 'node', headers: { A: 'b' } }, /`headers` only apply to a remote server/],
    ['args with a url', { url: 'https://mcp.example.com/mcp', args: ['x'] }, /`args` only applies/],
    ['a header the transport sets', { url: 'https://h/mcp', headers: { 'Mcp-Session-Id': 'x' } }, /set by the MCP/],
    ['a multi-line header', { url: 'https://h/mcp', headers: { Authorization: 'Bearer s3cret\nX: y' } }, /single-line/],
    [
      'a header value fetch cannot send',
      { url: 'https://h/mcp', headers: { 'X-Key': 's3cret\u20ac' } },
      /X-Key.*Latin-1/,
    ],
    [
      'a control character in a header',
      { url: 'https://h/mcp', headers: { 'X-Key': 's3cret\u0001' } },
      /X-Key.*control/,
    ],
  ])('refuses %s with InvalidOptionsError, before contacting anything', async (_, options, message) => {
    const attempt = runMcpProxy({ ...base, ...options } as never);

    await expect(attempt).rejects.toThrow(InvalidOptionsError);
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.not.toThrow(/s3cret/);
  });
});

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FIXTURES, run, tempFiles } from '../__fixtures__/run.ts';
import { runCli } from '../index.ts';

// A plain, ungated MCP server, run from this package (which depends on the SDK and zod).
const SERVER = `
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
const server = new McpServer({ name: 'plain-server', version: '1.0.0' });
const ran = [];
server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => {
  ran.push('echo');
  return { content: [{ type: 'text', text }] };
});
server.registerTool('wipe', {}, async () => {
  ran.push('wipe');
  return { content: [{ type: 'text', text: 'wiped' }] };
});
server.registerTool('ran', {}, async () => ({ content: [{ type: 'text', text: ran.join(',') }] }));
await server.connect(new StdioServerTransport());
`;

const POLICY = `
roles:
  default:
    tools:
      echo: { mode: allow }
      ran: { mode: allow }
  admin:
    tools:
      echo: { mode: allow }
      ran: { mode: allow }
      wipe: { mode: approval_required }
`;

const text = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;

const SECRET = 'Bearer cli-s3cret-token';

/**
 * A plain remote MCP server (Streamable HTTP, stateful sessions) on 127.0.0.1
 * that answers 401 without the expected Authorization header, and records the
 * headers of every request it gets.
 */
async function remoteServer() {
  const ran: string[] = [];
  const seen: { method: string | undefined; headers: IncomingHttpHeaders }[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer(async (req, res) => {
    seen.push({ method: req.method, headers: req.headers });
    if (req.headers.authorization !== SECRET) return void res.writeHead(401).end();
    const id = req.headers['mcp-session-id'] as string | undefined;
    let transport = id ? sessions.get(id) : undefined;
    if (!transport) {
      const fresh = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, fresh),
      });
      const server = new McpServer({ name: 'remote-plain', version: '1.0.0' });
      server.registerTool('echo', { inputSchema: { text: z.string() } }, async ({ text }) => {
        ran.push('echo');
        return { content: [{ type: 'text', text }] };
      });
      server.registerTool('wipe', {}, async () => {
        ran.push('wipe');
        return { content: [{ type: 'text', text: 'wiped' }] };
      });
      await server.connect(fresh);
      transport = fresh;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  cleanups.push(close);
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, ran, seen };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

describe('hexgate mcp proxy', () => {
  it('gates a stdio MCP server for the user given on the command line', async () => {
    const dir = tempFiles({ 'policy.yaml': POLICY });
    const toProxy = new PassThrough();
    const fromProxy = new PassThrough();
    let stderr = '';
    const exit = runCli(
      [
        'mcp',
        'proxy',
        '--policy',
        join(dir, 'policy.yaml'),
        '--user',
        'ada',
        '--role',
        'admin',
        '--',
        process.execPath,
      ].concat(['--input-type=module', '-e', SERVER]),
      {
        // The server runs in this directory, so its imports resolve from this package.
        cwd: join(FIXTURES, '..', '..'),
        env: {},
        isTTY: false,
        stdout: fromProxy,
        stderr: { write: (s: string) => (stderr += s) },
        stdin: toProxy,
      } as Parameters<typeof runCli>[1],
    );
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(new StdioServerTransport(fromProxy, toProxy));

    const listed = await client.listTools();
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
    const wipe = await client.callTool({ name: 'wipe', arguments: {} });
    const ran = await client.callTool({ name: 'ran', arguments: {} });
    await client.close();
    toProxy.end();

    expect(listed.tools.map((t) => t.name)).toEqual(['echo', 'wipe', 'ran']);
    expect(text(echo)).toBe('hi');
    expect(text(wipe)).toMatch(/^\[approval_required\] Tool 'wipe'/);
    expect(text(ran)).toBe('echo');
    expect(await exit).toBe(0);
    expect(stderr).toContain("deciding tool calls of '");
    expect(stderr).toContain('id ada, roles [admin]');
  });

  it('needs a policy and a server command', async () => {
    const noPolicy = await run(['mcp', 'proxy', '--', 'node', 'server.js'], { cwd: FIXTURES });
    const noCommand = await run(['mcp', 'proxy', '--policy', 'x.yaml'], { cwd: FIXTURES });

    expect(noPolicy.code).toBe(2);
    expect(noPolicy.stderr).toContain('--policy is required');
    expect(noCommand.code).toBe(2);
    expect(noCommand.stderr).toMatch(/the MCP server to launch goes after --/);
    expect(noPolicy.stdout + noCommand.stdout).toBe('');
  });

  it('needs --user with --role: a caller without an id would have every call denied', async () => {
    const result = await run(['mcp', 'proxy', '--policy', 'x.yaml', '--role', 'admin', '--', 'node', 'server.js'], {
      cwd: FIXTURES,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--role needs --user (the caller's id)");
  });

  it('gates a remote Streamable HTTP server, with a header value taken from the environment', async () => {
    const dir = tempFiles({ 'policy.yaml': POLICY });
    const server = await remoteServer();
    const toProxy = new PassThrough();
    const fromProxy = new PassThrough();
    let stderr = '';
    const argv = ['mcp', 'proxy', '--policy', join(dir, 'policy.yaml'), '--user', 'ada', '--role', 'admin'];
    const exit = runCli(
      [...argv, '--url', server.url, '--header-env', 'Authorization=MCP_AUTH', '--header', 'X-Team: ops'],
      {
        cwd: dir,
        env: { MCP_AUTH: SECRET },
        isTTY: false,
        stdout: fromProxy,
        stderr: { write: (s: string) => (stderr += s) },
        stdin: toProxy,
      } as Parameters<typeof runCli>[1],
    );
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(new StdioServerTransport(fromProxy, toProxy));

    const listed = await client.listTools();
    const echo = await client.callTool({ name: 'echo', arguments: { text: 'remote hi' } });
    const wipe = await client.callTool({ name: 'wipe', arguments: {} });
    await client.close();
    toProxy.end();

    expect(await exit).toBe(0);
    expect(listed.tools.map((t) => t.name)).toEqual(['echo', 'wipe']);
    expect(text(echo)).toBe('remote hi');
    expect(text(wipe)).toMatch(/^\[approval_required\] Tool 'wipe'/);
    expect(server.ran).toEqual(['echo']);
    expect(server.seen.length).toBeGreaterThan(3);
    expect(server.seen.every(({ headers: h }) => h.authorization === SECRET && h['x-team'] === 'ops')).toBe(true);
    // The client hung up: the session was ended.
    expect(server.seen.at(-1)).toMatchObject({ method: 'DELETE', headers: { 'mcp-session-id': expect.any(String) } });
    expect(stderr).toContain(`deciding tool calls of '${server.url}'`);
    expect(stderr).not.toContain('s3cret');
  });

  it('exits 1 when the remote server refuses the credentials', async () => {
    const dir = tempFiles({ 'policy.yaml': POLICY });
    const server = await remoteServer();
    const toProxy = new PassThrough();
    const fromProxy = new PassThrough();
    let stderr = '';
    const exit = runCli(['mcp', 'proxy', '--policy', join(dir, 'policy.yaml'), '--url', server.url], {
      cwd: dir,
      env: {},
      isTTY: false,
      stdout: fromProxy,
      stderr: { write: (s: string) => (stderr += s) },
      stdin: toProxy,
    } as Parameters<typeof runCli>[1]);
    const client = new Client({ name: 'cli-test', version: '1.0.0' });

    await expect(client.connect(new StdioServerTransport(fromProxy, toProxy))).rejects.toThrow(/HTTP 401/);
    expect(await exit).toBe(1);
    expect(stderr).toMatch(/failed: the server answered HTTP 401/);
  });

  it('usage errors for a remote server name headers and variables, never header values', async () => {
    const dir = tempFiles({ 'policy.yaml': POLICY });
    const proxy = (...rest: string[]) =>
      run(['mcp', 'proxy', '--policy', join(dir, 'policy.yaml'), ...rest], {
        cwd: dir,
        env: { EMPTY: '', MCP_AUTH: 'Bearer env-s3cret' },
      });
    const url = 'https://mcp.example.com/mcp';

    const cases = [
      [await proxy('--url', url, '--', 'node', 'server.js'), /give either --url or a command after --, not both/],
      [await proxy('--url', 'ftp://mcp.example.com/mcp'), /--url must be an http: or https: URL, not ftp:/],
      [await proxy('--url', 'https://me:pw@mcp.example.com/mcp'), /--url must not contain credentials/],
      [
        await proxy('--url', url, '--header-env', 'Authorization=MCP_TOKEN'),
        /variable MCP_TOKEN \(for header 'Authorization'\) is not set/,
      ],
      [await proxy('--url', url, '--header-env', 'Authorization=EMPTY'), /variable EMPTY .* is not set/],
      [await proxy('--url', url, '--header-env', 'Authorization=Bearer s3cret'), /--header-env needs Name=VARIABLE/],
      [await proxy('--url', url, '--header', 'Bearer-s3cret-without-a-name'), /--header needs 'Name: value'/],
      [await proxy('--url', url, '--header', 'A: s3cret', '--header-env', 'a=MCP_AUTH'), /header 'a' is given twice/],
      [
        await proxy('--url', url, '--header', 'Mcp-Session-Id: s3cret'),
        /header 'Mcp-Session-Id' is set by the MCP transport/,
      ],
      [await proxy('--header', 'A: s3cret', '--', 'node', 'server.js'), /--header and --header-env need --url/],
    ] as const;

    for (const [result, message] of cases) {
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain('s3cret');
      expect(result.stdout).toBe('');
    }
  });
});

import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
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
});

import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { main } from './index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const text = (r: unknown) => ((r as CallToolResult).content[0] as { text: string }).text;

describe('ops-files example', () => {
  it('runs the scripted demo offline: per-caller tools, denials, and an out-of-band approval', async () => {
    const lines = await main(() => {});

    expect(lines).toEqual([
      '[alice] sees tools: list_dir, read_file',
      '[alice] read_file {"path":"notes.txt"} -> hello from the ops workspace',
      expect.stringMatching(/^\[alice\] read_file \{"path":"secrets\/token.txt"\} -> \[policy_denied\] .*secrets/),
      expect.stringMatching(/^\[alice\] delete_file \{"path":"tmp\/old.log"\} -> \[policy_denied\]/),
      '[olga] sees tools: list_dir, read_file, delete_file',
      '  approver: olga wants delete_file({"path":"tmp/old.log"}) -> approve',
      '[olga] delete_file {"path":"tmp/old.log"} -> deleted tmp/old.log',
      '  approver: olga wants delete_file({"path":"tmp/keep.log"}) -> reject',
      expect.stringMatching(
        /^\[olga\] delete_file \{"path":"tmp\/keep.log"\} -> \[policy_denied\] .*approval was not granted/,
      ),
      expect.stringMatching(/^\[olga\] delete_file \{"path":"notes.txt"\} -> \[policy_denied\] .*tmp\//),
      '[olga] list_dir {"path":"tmp"} -> keep.log',
    ]);
  });

  it('serves over stdio as the launch user, to a real MCP client', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ops-stdio-'));
    cpSync(join(here, '..', 'workspace'), root, { recursive: true });
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--conditions=@hexgate/source', '--import', 'tsx', join(here, 'stdio.ts')],
        cwd: join(here, '..'),
        env: { ...(process.env as Record<string, string>), OPS_ROOT: root, OPS_USER: 'olga', OPS_ROLES: 'operator' },
        stderr: 'pipe',
      }),
    );
    try {
      const tools = await client.listTools();
      const notes = await client.callTool({ name: 'read_file', arguments: { path: 'notes.txt' } });
      const outside = await client.callTool({ name: 'read_file', arguments: { path: '../../etc/passwd' } });
      const del = await client.callTool({ name: 'delete_file', arguments: { path: 'tmp/old.log' } });

      expect(tools.tools.map((t) => t.name)).toEqual(['list_dir', 'read_file', 'delete_file']);
      expect(text(notes)).toBe('hello from the ops workspace\n');
      expect(text(outside)).toMatch(/^\[policy_denied\]/);
      // No approver is configured over stdio: the client gets the marker and nothing is deleted.
      expect(text(del)).toMatch(/^\[approval_required\] Tool 'delete_file'/);
      expect(existsSync(join(root, 'tmp', 'old.log'))).toBe(true);
    } finally {
      await client.close();
    }
  });
});

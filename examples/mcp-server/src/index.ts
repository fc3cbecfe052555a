/**
 * Offline demo: a scripted MCP client (standing in for the model) talks to
 * the gated ops server in-process, as two callers whose identity comes from
 * their (already verified) tokens. No model or API key is involved: an MCP
 * server never sees the model, only the client's tool calls.
 *
 *   pnpm -F @examples/mcp-server start
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApprovalHandler, loadPolicySync } from '@hexgate/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callerFrom, createOpsServer } from './ops-server.ts';

const here = dirname(fileURLToPath(import.meta.url));

const tokens: Record<string, AuthInfo> = {
  alice: { token: 'tok-alice', clientId: 'alice', scopes: [] },
  olga: { token: 'tok-olga', clientId: 'olga', scopes: ['operator'] },
};

export async function main(log: (line: string) => void = console.log): Promise<string[]> {
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    log(line);
  };
  // Work on a copy: the demo deletes a file.
  const root = mkdtempSync(join(tmpdir(), 'ops-files-'));
  cpSync(join(here, '..', 'workspace'), root, { recursive: true });
  const policy = loadPolicySync(join(here, '..', 'policy.yaml'));

  // Stands in for an approval service the server trusts (a ticket, a chat
  // button): it sees the exact arguments and answers with a literal `true`.
  const approvalHandler: ApprovalHandler = ({ decision, args }) => {
    const ok = args.path === 'tmp/old.log';
    say(
      `  approver: ${decision.userId} wants ${decision.tool}(${JSON.stringify(args)}) -> ${ok ? 'approve' : 'reject'}`,
    );
    return ok;
  };

  try {
    for (const [who, script] of [
      [
        'alice',
        [
          ['read_file', { path: 'notes.txt' }],
          ['read_file', { path: 'secrets/token.txt' }],
          ['delete_file', { path: 'tmp/old.log' }],
        ],
      ],
      [
        'olga',
        [
          ['delete_file', { path: 'tmp/old.log' }],
          ['delete_file', { path: 'tmp/keep.log' }],
          ['delete_file', { path: 'notes.txt' }],
          ['list_dir', { path: 'tmp' }],
        ],
      ],
    ] as const) {
      const server = createOpsServer({ root, policy, resolveUser: callerFrom(undefined), approvalHandler });
      const client = await connectAs(server, tokens[who] as AuthInfo);
      const { tools } = await client.listTools();
      say(`[${who}] sees tools: ${tools.map((t) => t.name).join(', ')}`);
      for (const [tool, args] of script) {
        const result = (await client.callTool({ name: tool, arguments: { ...args } })) as CallToolResult;
        const first = result.content[0];
        const text = first?.type === 'text' ? first.text.trim() || '(empty)' : '(no text)';
        say(`[${who}] ${tool} ${JSON.stringify(args)} -> ${text}`);
      }
      await client.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return lines;
}

/** In-process client; every request carries the caller's token, as an HTTP auth middleware would attach it. */
async function connectAs(server: ReturnType<typeof createOpsServer>, authInfo: AuthInfo): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const send = clientSide.send.bind(clientSide);
  clientSide.send = (message, options) => send(message, { ...options, authInfo });
  await server.connect(serverSide);
  const client = new Client({ name: 'scripted-client', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}

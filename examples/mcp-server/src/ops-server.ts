/**
 * A small file/ops MCP server: list_dir, read_file, delete_file on one root
 * directory, gated with hexgate. The tools are written as if no policy
 * existed (apart from staying inside the root); `withHexgate` decides every
 * call per caller.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import type { ApprovalHandler, Policy, User } from '@hexgate/core';
import { type ResolveUser, withHexgate } from '@hexgate/mcp';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export interface OpsServerOptions {
  /** The directory the tools work in. */
  readonly root: string;
  readonly policy: Policy;
  /** Who is calling; see `callerFrom` below. */
  readonly resolveUser: ResolveUser;
  /** An out-of-band approver for `approval_required` calls (omit: the client gets `[approval_required]`). */
  readonly approvalHandler?: ApprovalHandler;
}

/**
 * Identity: over HTTP, from the verified token the SDK puts in `extra.authInfo`
 * (here its scopes are the roles); over stdio, the user the process was
 * launched for. Never from tool arguments.
 */
export function callerFrom(launchUser: User | undefined): ResolveUser {
  return (extra) => (extra.authInfo ? { id: extra.authInfo.clientId, roles: extra.authInfo.scopes } : launchUser);
}

export function createOpsServer(options: OpsServerOptions): McpServer {
  const server = new McpServer({ name: 'ops-files', version: '1.0.0' });
  const root = resolve(options.root);
  // The tool's own sandbox: the policy decides who may do what, this only keeps paths inside the root.
  const inside = (path: string) => {
    const full = resolve(root, path);
    const rel = relative(root, full);
    if (rel.startsWith('..') || rel.startsWith(sep) || resolve(root, rel) !== full) {
      throw new Error(`path '${path}' is outside the server root`);
    }
    return full;
  };
  const path = z.string().describe('Path relative to the server root');

  server.registerTool(
    'list_dir',
    { description: 'List a directory.', inputSchema: { path: path.default('.') } },
    async (args) => {
      const entries = await readdir(inside(args.path), { withFileTypes: true });
      const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
      return { content: [{ type: 'text', text: names.join('\n') }] };
    },
  );
  server.registerTool('read_file', { description: 'Read a text file.', inputSchema: { path } }, async (args) => ({
    content: [{ type: 'text', text: await readFile(inside(args.path), 'utf8') }],
  }));
  server.registerTool(
    'delete_file',
    { description: 'Delete a file.', inputSchema: { path }, annotations: { destructiveHint: true } },
    async (args) => {
      await rm(inside(args.path));
      return { content: [{ type: 'text', text: `deleted ${args.path}` }] };
    },
  );

  return withHexgate(server, {
    policy: options.policy,
    resolveUser: options.resolveUser,
    ...(options.approvalHandler ? { approvalHandler: options.approvalHandler } : {}),
  });
}

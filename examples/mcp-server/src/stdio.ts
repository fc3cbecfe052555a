/**
 * The ops server over stdio, for an MCP client (Claude Desktop, an IDE, ...).
 * The caller is whoever launched it: OPS_USER / OPS_ROLES (comma-separated).
 *   OPS_ROOT=/srv/ops OPS_USER=olga OPS_ROLES=operator pnpm -F @examples/mcp-server stdio
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicySync, type User } from '@hexgate/core';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { callerFrom, createOpsServer } from './ops-server.ts';

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const launchUser: User | undefined = env.OPS_USER
  ? { id: env.OPS_USER, roles: (env.OPS_ROLES ?? '').split(',').filter(Boolean) }
  : undefined;

const server = createOpsServer({
  root: env.OPS_ROOT ?? join(here, '..', 'workspace'),
  policy: loadPolicySync(env.OPS_POLICY ?? join(here, '..', 'policy.yaml')),
  resolveUser: callerFrom(launchUser),
});
await server.connect(new StdioServerTransport());
// stdout is the protocol channel: log to stderr only.
process.stderr.write(`ops-files: serving over stdio as ${launchUser?.id ?? 'anonymous (default role)'}\n`);

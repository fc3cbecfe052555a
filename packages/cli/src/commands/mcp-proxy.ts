/**
 * `hexgate mcp proxy --policy <p> [--user U] [--role R ...] -- <command> [args...]`:
 * a policy gateway in front of any stdio MCP server (`runMcpProxy` from
 * @hexgate/mcp). stdout is the MCP channel to the client, so everything this
 * command says goes to stderr.
 */
import type { Readable } from 'node:stream';
import { formatIssue } from '@hexgate/core';
import { runMcpProxy } from '@hexgate/mcp';
import { describeUser, roleWarnings, userFrom } from '../caller.ts';
import { defineCommand, EXIT, UsageError } from '../command.ts';
import { loadPolicyFor } from '../policy-loading.ts';

const help = `Usage: hexgate mcp proxy --policy P [--user U] [--role R ...] [--pin-file F] -- <command> [args...]

Launches <command>, any MCP server speaking stdio, as a child process and
speaks MCP to the client on this process's stdin/stdout, forwarding every
message. Each tools/call is decided against the policy for the user given
here (never for anything the client sends): allowed calls are forwarded with
the decided arguments; deny and approval_required are answered as isError tool
results ([policy_denied] / [approval_required]) and never reach the server.
tools/list shows only the tools that user could call.

Tool pinning: each tool's definition (title, description, schemas,
annotations) is pinned by sha256 when first seen. If the server changes it
later, the tool is hidden and its calls are denied until an operator accepts
the change: put the new hash (printed on stderr) under the tool's name in the
pin file, or delete the entry to re-pin it. Without --pin-file, pins last for
this run only.

Options:
  --policy P       the policy file (required)
  --user U         the caller's id (user.id in constraints)
  --role R         a role of the caller; repeat for several (none: the default role)
  --require-user   deny every call when no --user is given
  --pin-file F     JSON file of pinned tool definitions (created if missing)
  --agent-name N   agent name reported with each decision (default: the server's name)

Exit codes: the server's exit code; 127 when it cannot be started; 2 usage or
policy load error.

Example (as the command of an MCP client's server entry):
  hexgate mcp proxy --policy policy.yaml --user olga --role operator \\
    --pin-file fs.pins.json -- npx -y @modelcontextprotocol/server-filesystem /srv/ops
`;

export default defineCommand({
  help,
  options: {
    policy: { type: 'string' },
    user: { type: 'string' },
    role: { type: 'string', multiple: true },
    'require-user': { type: 'boolean' },
    'pin-file': { type: 'string' },
    'agent-name': { type: 'string' },
  },
  async run({ values, positionals }, ctx) {
    if (!values.policy) throw new UsageError('--policy is required');
    const [command, ...args] = positionals;
    if (!command) throw new UsageError('the MCP server to launch goes after --, e.g. -- npx -y some-mcp-server');
    // A caller is an id with roles: without an id every call would be denied as an invalid user.
    if (values.role?.length && values.user === undefined) throw new UsageError("--role needs --user (the caller's id)");
    const loaded = await loadPolicyFor(ctx, values.policy);
    if (!loaded.ok) {
      for (const issue of loaded.issues) ctx.err(formatIssue(issue));
      return EXIT.usage;
    }
    const user = userFrom({ id: values.user, roles: values.role });
    for (const warning of roleWarnings(loaded.policy, values.role)) ctx.err(`${ctx.name}: warning: ${warning}`);
    ctx.err(`${ctx.name}: deciding tool calls of '${command}' for ${describeUser(user)}`);

    // Stop the server on Ctrl-C / termination; the proxy then resolves with its exit code.
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      return await runMcpProxy({
        policy: loaded.policy,
        command,
        args,
        cwd: ctx.io.cwd,
        // An embedder (or a test) may hand runCli a stdin; otherwise the process's own.
        stdin: (ctx.io.stdin as Readable | undefined) ?? process.stdin,
        stdout: ctx.io.stdout,
        stderr: ctx.io.stderr,
        signal: abort.signal,
        ...(user ? { user } : {}),
        ...(values['require-user'] ? { requireUser: true } : {}),
        ...(values['pin-file'] ? { pinFile: ctx.resolve(values['pin-file']) } : {}),
        ...(values['agent-name'] ? { agentName: values['agent-name'] } : {}),
      });
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
});

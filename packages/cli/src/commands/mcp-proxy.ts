/**
 * `hexgate mcp proxy --policy <p> [--user U] [--role R ...] (-- <command> [args...] | --url <url> [--header ...])`:
 * a policy gateway in front of any MCP server, launched over stdio or remote
 * over Streamable HTTP (`runMcpProxy` from @hexgate/mcp). stdout is the MCP
 * channel to the client, so everything this command says goes to stderr.
 */
import type { Readable } from 'node:stream';
import { formatIssue, HexgateError } from '@hexgate/core';
import { type McpProxyCommandOptions, type McpProxyUrlOptions, runMcpProxy } from '@hexgate/mcp';
import { describeUser, roleWarnings, userFrom } from '../caller.ts';
import { type CommandContext, defineCommand, EXIT, UsageError } from '../command.ts';
import { loadPolicyFor } from '../policy-loading.ts';

const help = `Usage: hexgate mcp proxy --policy P [--user U] [--role R ...] [--pin-file F] -- <command> [args...]
       hexgate mcp proxy --policy P [--user U] [--role R ...] [--pin-file F] --url URL
                         [--header 'Name: value' ...] [--header-env Name=VAR ...]

Speaks MCP to the client on this process's stdin/stdout and forwards every
message to the server: <command>, any MCP server speaking stdio, launched as a
child process; or, with --url, a remote server over Streamable HTTP. Each
tools/call is decided against the policy for the user given here (never for
anything the client sends): allowed calls are forwarded with the decided
arguments; deny and approval_required are answered as isError tool results
([policy_denied] / [approval_required]) and never reach the server.
tools/list shows only the tools that user could call.

Tool pinning: each tool's definition (title, description, schemas,
annotations) is pinned by sha256 when first seen. If the server changes it
later, the tool is hidden and its calls are denied until an operator accepts
the change: put the new hash (printed on stderr) under the tool's name in the
pin file, or delete the entry to re-pin it. Without --pin-file, pins last for
this run only.

A remote server that fails (HTTP error, dropped connection) never leaves the
client waiting: a request it did not answer gets a JSON-RPC error.

Options:
  --policy P         the policy file (required)
  --user U           the caller's id (user.id in constraints)
  --role R           a role of the caller; repeat for several (none: the default role)
  --require-user     deny every call when no --user is given
  --pin-file F       JSON file of pinned tool definitions (created if missing)
  --agent-name N     agent name reported with each decision (default: the server's name)
  --url URL          a remote MCP server (http: or https:) instead of a command
  --header H         'Name: value' sent on every request to --url; repeatable. Visible
                     to other users in the process list: use --header-env for secrets
  --header-env N=V   header N with its value read from environment variable V; repeatable
                     (e.g. --header-env Authorization=MCP_AUTH with MCP_AUTH='Bearer ...')

Header values are never printed.

Exit codes:
  with a command: the server's exit code; 127 when it cannot be started
  with --url:     0 the client hung up (or the proxy was stopped; the session is ended);
                  1 the server failed: unreachable, connection lost, or the session or
                    credentials were refused (HTTP 401/403/404)
  2               usage or policy load error (also: a --header-env variable is not set)

Examples (as the command of an MCP client's server entry):
  hexgate mcp proxy --policy policy.yaml --user olga --role operator \\
    --pin-file fs.pins.json -- npx -y @modelcontextprotocol/server-filesystem /srv/ops
  MCP_AUTH="Bearer $TOKEN" hexgate mcp proxy --policy policy.yaml --user olga \\
    --url https://mcp.example.com/mcp --header-env Authorization=MCP_AUTH
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
    url: { type: 'string' },
    header: { type: 'string', multiple: true },
    'header-env': { type: 'string', multiple: true },
  },
  async run({ values, positionals }, ctx) {
    if (!values.policy) throw new UsageError('--policy is required');
    const server = serverFrom(values, positionals, ctx);
    // A caller is an id with roles: without an id every call would be denied as an invalid user.
    if (values.role?.length && values.user === undefined) throw new UsageError("--role needs --user (the caller's id)");
    const loaded = await loadPolicyFor(ctx, values.policy);
    if (!loaded.ok) {
      for (const issue of loaded.issues) ctx.err(formatIssue(issue));
      return EXIT.usage;
    }
    const user = userFrom({ id: values.user, roles: values.role });
    for (const warning of roleWarnings(loaded.policy, values.role)) ctx.err(`${ctx.name}: warning: ${warning}`);
    ctx.err(`${ctx.name}: deciding tool calls of '${server.label}' for ${describeUser(user)}`);

    // Stop on Ctrl-C / termination: a launched server gets SIGTERM, a remote session is ended.
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      return await runMcpProxy({
        ...server.options,
        policy: loaded.policy,
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
    } catch (e) {
      // runMcpProxy checks its options before starting anything (e.g. a header the transport sets itself).
      if (HexgateError.isInstance(e) && e.code === 'INVALID_OPTIONS') {
        throw new UsageError(e.message.replace(/^runMcpProxy: /, ''));
      }
      throw e;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
});

type ServerOptions =
  | Pick<McpProxyCommandOptions, 'command' | 'args' | 'cwd'>
  | Pick<McpProxyUrlOptions, 'url' | 'headers'>;

/** The server to front: a command after `--`, or `--url` with its headers. `label` is safe to print. */
function serverFrom(
  values: { url?: string | undefined; header?: string[] | undefined; 'header-env'?: string[] | undefined },
  positionals: readonly string[],
  ctx: CommandContext,
): { options: ServerOptions; label: string } {
  const [command, ...args] = positionals;
  const headerFlags = [...(values.header ?? []), ...(values['header-env'] ?? [])];
  if (values.url === undefined) {
    if (headerFlags.length > 0) throw new UsageError('--header and --header-env need --url');
    if (!command) {
      throw new UsageError('the MCP server to launch goes after --, e.g. -- npx -y some-mcp-server (or give --url)');
    }
    return { options: { command, args, cwd: ctx.io.cwd }, label: command };
  }
  if (command !== undefined) throw new UsageError('give either --url or a command after --, not both');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError('--url is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http: or https: URL, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new UsageError('--url must not contain credentials: use --header-env');
  }
  return { options: { url, headers: headersFrom(values, ctx) }, label: `${url.origin}${url.pathname}` };
}

/** `--header 'Name: value'` and `--header-env Name=VAR`; messages name headers and variables, never values. */
function headersFrom(
  values: { header?: string[] | undefined; 'header-env'?: string[] | undefined },
  ctx: CommandContext,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const add = (name: string, value: string) => {
    if (Object.keys(headers).some((n) => n.toLowerCase() === name.toLowerCase())) {
      throw new UsageError(`header '${name}' is given twice`);
    }
    headers[name] = value;
  };
  for (const flag of values.header ?? []) {
    const colon = flag.indexOf(':');
    const name = colon > 0 ? flag.slice(0, colon).trim() : '';
    // The flag itself is not quoted: it may be a value typed without its name.
    if (name === '' || /\s/.test(name)) throw new UsageError("--header needs 'Name: value'");
    add(name, flag.slice(colon + 1).trim());
  }
  for (const flag of values['header-env'] ?? []) {
    const match = /^([^=\s]+)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(flag);
    if (!match)
      throw new UsageError('--header-env needs Name=VARIABLE (the name of an environment variable, not a value)');
    const [, name, variable] = match as unknown as [string, string, string];
    const value = ctx.io.env[variable];
    if (value === undefined || value === '') {
      throw new UsageError(`environment variable ${variable} (for header '${name}') is not set`);
    }
    add(name, value);
  }
  return headers;
}

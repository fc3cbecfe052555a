/**
 * `runMcpProxy`: a policy gateway in front of ANY MCP server: one it launches
 * as a child process (stdio), or a remote one (Streamable HTTP). It speaks MCP
 * to the client on its own stdio, forwards every message, and applies the
 * policy to tools/call and tools/list for one fixed user (the proxy's own
 * options: whoever configured the client decides who the proxy acts for,
 * never the client's requests).
 */
import type { Readable } from 'node:stream';
import { InvalidOptionsError, type User } from '@hexgate/core';
import { type GateOptions, gateContext } from '../gate-options.ts';
import { userProblem } from '../resolve-caller.ts';
import { ToolPins } from '../tool-pins.ts';
import { startHttpUpstream } from './http-upstream.ts';
import { readMessages, type TextSink, writeMessage } from './json-lines.ts';
import { proxyTarget } from './proxy-target.ts';
import { startStdioUpstream } from './stdio-upstream.ts';
import { createToolGateway } from './tool-gateway.ts';
import type { Upstream } from './upstream.ts';

interface McpProxyCommonOptions extends GateOptions {
  /** The identity every call is decided for. Omitted: anonymous (`default` role, or denied with `requireUser`). */
  readonly user?: User;
  /** Client side of the proxy (default: this process's stdin/stdout). */
  readonly stdin?: Readable;
  readonly stdout?: TextSink;
  /** The proxy's own log lines, and a launched server's stderr (default: process.stderr). */
  readonly stderr?: TextSink;
  /**
   * JSON file of pinned tool definitions (`{ "version": 1, "tools": { name: sha256 } }`),
   * created if missing. Edit an entry to accept a changed tool. Without it, pins last one run.
   */
  readonly pinFile?: string;
  /** Aborting stops the proxy: a launched server gets SIGTERM, a remote session is ended. */
  readonly signal?: AbortSignal;
}

/** A local MCP server the proxy launches and talks to over its stdio. */
export interface McpProxyCommandOptions extends McpProxyCommonOptions {
  /** The MCP server to launch, e.g. `npx` with `args: ['-y', '@modelcontextprotocol/server-filesystem', '/data']`. */
  readonly command: string;
  readonly args?: readonly string[];
  /** Added to the proxy's own environment for the server. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly url?: undefined;
  readonly headers?: undefined;
}

/** A remote MCP server the proxy talks to over Streamable HTTP. */
export interface McpProxyUrlOptions extends McpProxyCommonOptions {
  /** The server's MCP endpoint, `http:` or `https:`, e.g. `https://mcp.example.com/mcp`. */
  readonly url: string | URL;
  /** Sent on every request to the server, e.g. `{ Authorization: 'Bearer ...' }`. Values are never logged. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly command?: undefined;
  readonly args?: undefined;
  readonly env?: undefined;
  readonly cwd?: undefined;
}

/** Exactly one of `command` (launch a stdio server) or `url` (a remote Streamable HTTP server). */
export type McpProxyOptions = McpProxyCommandOptions | McpProxyUrlOptions;

/**
 * Runs the proxy and resolves with its exit code. With `command`: once the
 * server exits, with its exit code (127: it could not be started). With
 * `url`: 0 once the client hung up or `signal` aborted (the session is ended),
 * 1 once the server failed for good (unreachable; session or credentials
 * refused); requests still waiting are answered with a JSON-RPC error.
 */
export async function runMcpProxy(options: McpProxyOptions): Promise<number> {
  const target = proxyTarget(options ?? {});
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const log = (line: string) => stderr.write(`hexgate mcp proxy: ${line}\n`);
  const { user } = options;
  const problem = user === undefined ? undefined : userProblem(user, { requireId: false });
  if (problem) {
    throw new InvalidOptionsError(
      `runMcpProxy: \`user\` is not a User ({ id?: string, roles?: string[] }): ${problem}`,
    );
  }
  let serverName: string | undefined;
  const ctx = gateContext(options, 'runMcpProxy', () => serverName);
  const pins = new ToolPins(options.pinFile);

  const gateway = createToolGateway({
    ctx,
    user,
    pins,
    toServer: (message) => upstream.send(message),
    toClient: (message) => writeMessage(stdout, message),
    log,
    onServerName: (name) => {
      serverName = name;
    },
  });
  const hooks = { onMessage: gateway.fromServer, log };
  const upstream: Upstream =
    target.kind === 'http' ? startHttpUpstream(target, hooks) : startStdioUpstream(target, { ...hooks, stderr });

  const stopClient = readMessages(stdin, gateway.fromClient, (e) =>
    log(`ignored an invalid message from the client: ${e.message}`),
  );
  const onEnd = () => upstream.end();
  const onAbort = () => upstream.stop();
  stdin.once('end', onEnd);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  const code = await upstream.exited;
  stopClient();
  gateway.close();
  stdin.off('end', onEnd);
  options.signal?.removeEventListener('abort', onAbort);
  // Let a process whose stdin we were reading exit.
  if (stdin.listenerCount('data') === 0) stdin.pause();
  return code;
}

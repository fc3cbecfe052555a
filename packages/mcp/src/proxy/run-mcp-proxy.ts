/**
 * `runMcpProxy`: a policy gateway in front of ANY stdio MCP server. It
 * launches the server as a child process, speaks MCP to the client on its own
 * stdio, forwards every message, and applies the policy to tools/call and
 * tools/list for one fixed user (the proxy's own options: whoever configured
 * the client decides who the proxy acts for, never the client's requests).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { InvalidOptionsError, type User } from '@hexgate/core';
import { type GateOptions, gateContext } from '../gate-options.ts';
import { userProblem } from '../resolve-caller.ts';
import { ToolPins } from '../tool-pins.ts';
import { readMessages, type TextSink, writeMessage } from './json-lines.ts';
import { createToolGateway } from './tool-gateway.ts';

export interface McpProxyOptions extends GateOptions {
  /** The identity every call is decided for. Omitted: anonymous (`default` role, or denied with `requireUser`). */
  readonly user?: User;
  /** The MCP server to launch, e.g. `npx` with `args: ['-y', '@modelcontextprotocol/server-filesystem', '/data']`. */
  readonly command: string;
  readonly args?: readonly string[];
  /** Added to the proxy's own environment for the server. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Client side of the proxy (default: this process's stdin/stdout). */
  readonly stdin?: Readable;
  readonly stdout?: TextSink;
  /** The server's stderr and the proxy's own log lines (default: process.stderr). */
  readonly stderr?: TextSink;
  /**
   * JSON file of pinned tool definitions (`{ "version": 1, "tools": { name: sha256 } }`),
   * created if missing. Edit an entry to accept a changed tool. Without it, pins last one run.
   */
  readonly pinFile?: string;
  /** Aborting stops the server (SIGTERM); the promise then resolves with its exit code. */
  readonly signal?: AbortSignal;
}

/** Grace period for the server to exit after the client hung up. */
const EXIT_GRACE_MS = 5_000;

/** Runs the proxy until the server exits; resolves with its exit code (127: it could not be started). */
export async function runMcpProxy(options: McpProxyOptions): Promise<number> {
  if (typeof options?.command !== 'string' || options.command === '') {
    throw new InvalidOptionsError('runMcpProxy: `command` (the MCP server to launch) is required');
  }
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

  const child = spawn(options.command, [...(options.args ?? [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    windowsHide: true,
  });
  const gateway = createToolGateway({
    ctx,
    user,
    pins,
    toServer: (message) => writeMessage(child.stdin, message),
    toClient: (message) => writeMessage(stdout, message),
    log,
    onServerName: (name) => {
      serverName = name;
    },
  });

  child.stdin.on('error', () => {}); // EPIPE once the server died; 'close' reports the exit
  child.stderr.setEncoding('utf8'); // decodes across chunk boundaries
  child.stderr.on('data', (chunk: string) => stderr.write(chunk));
  const stopServer = readMessages(child.stdout, gateway.fromServer, (e) =>
    log(`ignored an invalid message from the server: ${e.message}`),
  );
  const stopClient = readMessages(stdin, gateway.fromClient, (e) =>
    log(`ignored an invalid message from the client: ${e.message}`),
  );

  let killTimer: NodeJS.Timeout | undefined;
  const stopServerProcess = () => {
    child.stdin.end();
    killTimer ??= setTimeout(() => child.kill('SIGTERM'), EXIT_GRACE_MS);
  };
  const onAbort = () => child.kill('SIGTERM');
  stdin.once('end', stopServerProcess);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  return new Promise<number>((resolve) => {
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      stopClient();
      stopServer();
      gateway.close();
      stdin.off('end', stopServerProcess);
      options.signal?.removeEventListener('abort', onAbort);
      // Let a process whose stdin we were reading exit.
      if (stdin.listenerCount('data') === 0) stdin.pause();
      resolve(code);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      log(`could not start '${options.command}': ${e.message}`);
      finish(e.code === 'ENOENT' ? 127 : 1);
    });
    child.once('close', (code, signal) => {
      finish(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });
}

/**
 * A local MCP server launched as a child process, speaking MCP on its stdio.
 * Its exit code is the proxy's (127: it could not be started).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { readMessages, type TextSink, writeMessage } from './json-lines.ts';
import type { Upstream, UpstreamHooks } from './upstream.ts';

export interface StdioServer {
  readonly command: string;
  readonly args: readonly string[];
  /** Added to the proxy's own environment. */
  readonly env: Readonly<Record<string, string>> | undefined;
  readonly cwd: string | undefined;
}

/** Grace period for the server to exit after the client hung up. */
const EXIT_GRACE_MS = 5_000;

export function startStdioUpstream(server: StdioServer, hooks: UpstreamHooks & { stderr: TextSink }): Upstream {
  const { log } = hooks;
  const child = spawn(server.command, [...server.args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...server.env },
    ...(server.cwd !== undefined ? { cwd: server.cwd } : {}),
    windowsHide: true,
  });
  child.stdin.on('error', () => {}); // EPIPE once the server died; 'close' reports the exit
  child.stderr.setEncoding('utf8'); // decodes across chunk boundaries
  child.stderr.on('data', (chunk: string) => hooks.stderr.write(chunk));
  const stopReading = readMessages(child.stdout, hooks.onMessage, (e) =>
    log(`ignored an invalid message from the server: ${e.message}`),
  );

  let killTimer: NodeJS.Timeout | undefined;
  const exited = new Promise<number>((resolve) => {
    let settled = false;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      stopReading();
      resolve(code);
    };
    child.once('error', (e: NodeJS.ErrnoException) => {
      log(`could not start '${server.command}': ${e.message}`);
      finish(e.code === 'ENOENT' ? 127 : 1);
    });
    child.once('close', (code, signal) => {
      finish(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
    });
  });

  return {
    send: (message) => writeMessage(child.stdin, message),
    end() {
      // Closing its stdin is how a stdio server learns the client left; it may still take a moment.
      child.stdin.end();
      killTimer ??= setTimeout(() => child.kill('SIGTERM'), EXIT_GRACE_MS);
    },
    stop() {
      child.kill('SIGTERM');
    },
    exited,
  };
}

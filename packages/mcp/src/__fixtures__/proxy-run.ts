/**
 * `runMcpProxy` in-process on in-memory pipes, with a real MCP `Client` on
 * the client side, for the proxy's tests. What sits behind it (a launched
 * command or a remote `url`) is the test's choice.
 */
import { PassThrough } from 'node:stream';
import type { DecisionEvent } from '@hexgate/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type McpProxyCommandOptions, type McpProxyOptions, type McpProxyUrlOptions, runMcpProxy } from '../index.ts';

export interface RunningProxy {
  client: Client;
  /** Connects the client (`startProxy` does, unless told not to). */
  connect: () => Promise<void>;
  decisions: DecisionEvent[];
  stderr: () => string;
  /** Raw traffic, beside the client: a message written to the proxy's stdin, and everything it wrote to stdout. */
  send: (message: object) => void;
  stdout: () => string;
  /** Resolves with the proxy's exit code once it ended. */
  exit: Promise<number>;
  /** The client hangs up (closes the proxy's stdin); resolves with the proxy's exit code. */
  stop: () => Promise<number>;
}

/** runMcpProxy's options, less the client side: the harness owns the pipes. */
type ProxyOptions =
  | Omit<McpProxyCommandOptions, 'stdin' | 'stdout' | 'stderr'>
  | Omit<McpProxyUrlOptions, 'stdin' | 'stdout' | 'stderr'>;

const running: RunningProxy[] = [];

/** Hangs up every proxy `startProxy` started (for `afterEach`). */
export async function stopProxies(): Promise<void> {
  await Promise.all(running.splice(0).map((r) => r.stop()));
}

export async function startProxy(options: ProxyOptions, { connect = true } = {}): Promise<RunningProxy> {
  const toProxy = new PassThrough();
  const fromProxy = new PassThrough();
  const errors = new PassThrough();
  let errText = '';
  errors.on('data', (d) => {
    errText += String(d);
  });
  let outText = '';
  fromProxy.on('data', (d) => {
    outText += String(d);
  });
  const decisions: DecisionEvent[] = [];
  const exit = runMcpProxy({
    onDecision: (e) => decisions.push(e),
    ...options,
    stdin: toProxy,
    stdout: fromProxy,
    stderr: errors,
  } as McpProxyOptions);
  // The client side of a stdio pipe is symmetric: read the proxy's stdout, write its stdin.
  const client = new Client({ name: 'proxy-test', version: '1.0.0' });
  let stopped: Promise<number> | undefined;
  const run: RunningProxy = {
    client,
    connect: () => client.connect(new StdioServerTransport(fromProxy, toProxy)),
    decisions,
    stderr: () => errText,
    send: (message) => toProxy.write(`${JSON.stringify(message)}\n`),
    stdout: () => outText,
    exit,
    stop: () => {
      stopped ??= (async () => {
        await client.close();
        toProxy.end();
        return exit;
      })();
      return stopped;
    },
  };
  running.push(run);
  if (connect) await run.connect();
  return run;
}

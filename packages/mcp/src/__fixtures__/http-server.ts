/**
 * A real, ungated remote MCP server for the proxy's HTTP tests: `McpServer`
 * behind the SDK's `StreamableHTTPServerTransport` (stateful sessions) on
 * node:http, 127.0.0.1, a free port. It records every HTTP request it gets
 * (method, session, Authorization, protocol version) and every tool that
 * ran, so tests can prove what reached it. Beside the tools of
 * `proxy-tools.ts`, `hang` never answers and `stall` starts answering and
 * never finishes (to pull the plug mid-call).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { registerProxyTools } from './proxy-tools.ts';

export interface SeenRequest {
  readonly method: string;
  readonly sessionId: string | undefined;
  readonly authorization: string | undefined;
  readonly protocolVersion: string | undefined;
}

export interface HttpMcpServer {
  readonly url: URL;
  /** Tools that ran, with the arguments they got. */
  readonly ran: { tool: string; args: unknown }[];
  readonly requests: SeenRequest[];
  /** Resolves once `hang` or `stall` was called. */
  readonly hanging: Promise<void>;
  /** The next POST is answered with this instead of being handled (default: text/plain 'upstream trouble'). */
  answerNextPost(status: number, answer?: { contentType: string; body: string }): void;
  /** Ends every session on the server side, like a restart: their ids now get 404. */
  forgetSessions(): Promise<void>;
  /** Drops every connection and stops listening: the server is gone. */
  kill(): Promise<void>;
}

export async function startHttpMcpServer(options: { token?: string } = {}): Promise<HttpMcpServer> {
  const ran: { tool: string; args: unknown }[] = [];
  const requests: SeenRequest[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let nextPost: { status: number; contentType: string; body: string } | undefined;
  let hung: () => void = () => {};
  const hanging = new Promise<void>((resolve) => {
    hung = resolve;
  });

  const mcpServer = () => {
    const server = new McpServer({ name: 'remote-server', version: '1.0.0' });
    registerProxyTools(server, ran);
    const hang = (tool: string) => {
      ran.push({ tool, args: {} });
      hung();
      return new Promise<never>(() => {});
    };
    server.registerTool('hang', { description: 'Never answers.' }, async () => hang('hang'));
    // Starts its answer (a progress notification on the call's response stream), then never finishes it.
    server.registerTool('stall', { description: 'Starts, never finishes.' }, async (extra) => {
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: 0 } });
      }
      return hang('stall');
    });
    return server;
  };

  const http = createServer(async (req: IncomingMessage, res) => {
    const sessionId = req.headers['mcp-session-id'] as string | undefined;
    requests.push({
      method: req.method ?? '',
      sessionId,
      authorization: req.headers.authorization,
      protocolVersion: req.headers['mcp-protocol-version'] as string | undefined,
    });
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401).end();
      return;
    }
    if (req.method === 'POST' && nextPost !== undefined) {
      res.writeHead(nextPost.status, { 'content-type': nextPost.contentType }).end(nextPost.body);
      nextPost = undefined;
      return;
    }
    let transport = sessionId ? sessions.get(sessionId) : undefined;
    if (!transport) {
      if (sessionId) {
        res.writeHead(404).end(); // a session this server does not know (any more)
        return;
      }
      const fresh = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, fresh);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
        },
      });
      await mcpServer().connect(fresh);
      transport = fresh;
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);

  let killed: Promise<void> | undefined;
  return {
    url,
    ran,
    requests,
    hanging,
    answerNextPost(status, answer = { contentType: 'text/plain', body: 'upstream trouble' }) {
      nextPost = { status, ...answer };
    },
    async forgetSessions() {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map((t) => t.close()));
    },
    kill() {
      killed ??= new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      return killed;
    },
  };
}

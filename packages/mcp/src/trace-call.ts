/**
 * One traced run per MCP `tools/call` on the server side (a Langfuse trace,
 * or an observation nested in the host's own span when the server is
 * instrumented). The caller is the user the server resolved for the request,
 * passed explicitly: neither hexgate's user scope nor the OpenTelemetry
 * context crosses the wire, so nothing ambient is trusted. The session is the
 * transport's MCP session id when there is one (Streamable HTTP), else the
 * user's own `sessionId`, so Langfuse's Sessions view groups a client's calls.
 *
 * The run runs as the caller (`asCaller`): an anonymous caller's run must not
 * pick up a user from the ambient scope (over InMemoryTransport the server
 * runs inside the client's async context).
 */
import type { User } from '@hexgate/core';
import { isTracingEnabled, traceRun } from '@hexgate/tracing';
import { asCaller } from './caller-scope.ts';

export interface McpCallInfo {
  /** The tool name from the request (may be missing in a malformed request). */
  readonly tool: unknown;
  readonly user: User | undefined;
  /** `extra.sessionId`: the transport's MCP session, if it has one. */
  readonly sessionId?: string | undefined;
  /** The server's name (the decision's agent name). */
  readonly agentName: string | undefined;
  /** The request's raw `arguments`; recorded only through the tracer's redaction. */
  readonly args?: unknown;
  readonly requestId?: string | number | undefined;
}

export function traceMcpCall<R>(info: McpCallInfo, fn: () => R): R {
  // Off: no span and nothing derived from `info`; just the caller scope the gate needs anyway.
  if (!isTracingEnabled()) return asCaller(info.user, fn);
  const tool = typeof info.tool === 'string' && info.tool !== '' ? info.tool : '(no tool name)';
  const user = info.user && info.sessionId ? { ...info.user, sessionId: info.sessionId } : info.user;
  return asCaller(info.user, () =>
    traceRun(
      {
        framework: 'mcp',
        name: `mcp:${tool}`,
        ...(info.agentName !== undefined ? { agentName: info.agentName } : {}),
        ...(user ? { user } : {}),
        input: { tool, arguments: info.args ?? {} },
        metadata: { tool, ...(info.requestId !== undefined ? { requestId: info.requestId } : {}) },
      },
      fn,
    ),
  );
}

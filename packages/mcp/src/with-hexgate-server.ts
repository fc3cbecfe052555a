/**
 * The low-level form: `withHexgateServer(server, options)` for a `Server`
 * whose tools are served by your own `tools/call` / `tools/list` handlers.
 *
 * It wraps the handlers as they are installed with `setRequestHandler`, so
 * the gate sits after the SDK's request validation and your handler receives
 * a request whose `params.arguments` IS the frozen snapshot the policy
 * decided on. Handlers installed before it was applied cannot be wrapped that
 * way, so that is refused rather than left ungated: apply it first.
 */
import { InvalidOptionsError, type User } from '@hexgate/core';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { getLiteralValue, getObjectShape } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { ListToolsResult } from '@modelcontextprotocol/sdk/types.js';
import { asCaller } from './caller-scope.ts';
import { decideCall, runAllowed } from './decide-call.ts';
import { gateContext } from './gate-options.ts';
import { callerResolver, type McpRequestExtra, visibleTools } from './resolve-caller.ts';
import { traceMcpCall } from './trace-call.ts';
import type { WithHexgateOptions } from './with-hexgate.ts';

export type LowLevelServer = Server;

type AnyHandler = (request: any, extra: McpRequestExtra) => unknown;

const GATED = Symbol.for('@hexgate/mcp.gated');

/** Gates a low-level `Server` in place (before its tool handlers are set) and returns it. */
export function withHexgateServer<S extends LowLevelServer>(server: S, options: WithHexgateOptions): S {
  gateLowLevelServer(server, options, 'withHexgateServer');
  return server;
}

export function gateLowLevelServer(server: LowLevelServer, options: WithHexgateOptions, caller: string): void {
  if (typeof server?.setRequestHandler !== 'function') {
    throw new InvalidOptionsError(`${caller}: expected an McpServer or a Server from @modelcontextprotocol/sdk`);
  }
  if ((server as unknown as Record<symbol, unknown>)[GATED]) {
    throw new InvalidOptionsError(`${caller}: this server is already gated`);
  }
  for (const method of ['tools/call', 'tools/list']) {
    try {
      server.assertCanSetRequestHandler(method);
    } catch {
      throw new InvalidOptionsError(
        `${caller}: a ${method} handler is already set; apply ${caller} before setRequestHandler() so every call is gated`,
      );
    }
  }
  const ctx = gateContext(
    options,
    caller,
    () => (server as unknown as { _serverInfo?: { name?: string } })._serverInfo?.name,
  );
  const { enforcer } = ctx;
  const resolve = callerResolver(options.resolveUser);

  const gateCall =
    (handler: AnyHandler): AnyHandler =>
    async (request: { params: { name: string; arguments?: Record<string, unknown> } }, extra) => {
      const user: User | undefined = await resolve(extra);
      const { name, arguments: raw } = request.params;
      const call = {
        tool: name,
        user,
        sessionId: extra.sessionId,
        agentName: ctx.agentName(),
        args: raw,
        requestId: extra.requestId,
      };
      // One traced run per call; inside it the decision, then (if allowed) the traced execution.
      return traceMcpCall(call, async () => {
        const verdict = await decideCall(ctx, { tool: name, args: raw ?? {}, user, signal: extra.signal });
        if ('result' in verdict) return verdict.result;
        const decided = { ...request, params: { ...request.params, arguments: verdict.run } };
        return runAllowed(verdict, () => asCaller(user, () => handler(decided, extra)));
      });
    };
  const filterList =
    (handler: AnyHandler): AnyHandler =>
    async (request, extra) => {
      const user = await resolve(extra);
      const result = (await handler(request, extra)) as ListToolsResult;
      return { ...result, tools: visibleTools(enforcer, result.tools ?? [], user) };
    };

  const install = server.setRequestHandler;
  Object.defineProperty(server, GATED, { value: true });
  Object.defineProperty(server, 'setRequestHandler', {
    value: function setGatedRequestHandler(this: LowLevelServer, schema: never, handler: AnyHandler) {
      const method = methodOf(schema);
      const gated =
        method === 'tools/call' ? gateCall(handler) : method === 'tools/list' ? filterList(handler) : handler;
      return install.call(this, schema, gated as never);
    },
    writable: false,
    configurable: false,
  });
}

function methodOf(schema: unknown): unknown {
  const shape = getObjectShape(schema as never);
  return shape?.method ? getLiteralValue(shape.method) : undefined;
}

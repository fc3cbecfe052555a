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
import { type Enforcer, InvalidOptionsError, type User } from '@hexgate/core';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { getLiteralValue, getObjectShape } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import { CallToolRequestSchema, ErrorCode, type ListToolsResult, McpError } from '@modelcontextprotocol/sdk/types.js';
import { asCaller } from './caller-scope.ts';
import { decideCall, type GateContext, runAllowed } from './decide-call.ts';
import { gateContext } from './gate-options.ts';
import { callerResolver, type McpRequestExtra, visibleTools } from './resolve-caller.ts';
import { traceMcpCall } from './trace-call.ts';
import type { WithHexgateOptions } from './with-hexgate.ts';

export type LowLevelServer = Server;

export type AnyHandler = (request: any, extra: McpRequestExtra) => unknown;

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
  const resolve = callerResolver(options.resolveUser);
  const gateCall = toolCallGate(ctx, resolve);
  const filterList = toolListFilter(ctx.enforcer, resolve);

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
  gateFallback(server, gateCall, filterList);
}

/** Resolves the caller, decides, and runs `handler` with the decided snapshot as `params.arguments`. */
export function toolCallGate(
  ctx: GateContext,
  resolve: (extra: McpRequestExtra) => Promise<User | undefined>,
): (handler: AnyHandler) => AnyHandler {
  return (handler) => async (request: { params: { name: string; arguments?: Record<string, unknown> } }, extra) => {
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
}

/** Filters a tools/list answer down to the tools the caller could be allowed. */
export function toolListFilter(
  enforcer: Enforcer,
  resolve: (extra: McpRequestExtra) => Promise<User | undefined>,
): (handler: AnyHandler) => AnyHandler {
  return (handler) => async (request, extra) => {
    const user = await resolve(extra);
    const result = (await handler(request, extra)) as ListToolsResult;
    return { ...result, tools: visibleTools(enforcer, result.tools ?? [], user) };
  };
}

/**
 * `fallbackRequestHandler` (public on every `Protocol`) answers any method
 * that has no handler of its own, tools/call and tools/list included, and
 * receives the raw, unvalidated JSON-RPC request. Whatever is assigned to it
 * is gated like a tools/call / tools/list handler for those two methods.
 */
export function gateFallback(
  server: LowLevelServer,
  gateCall: (handler: AnyHandler) => AnyHandler,
  filterList: (handler: AnyHandler) => AnyHandler,
): void {
  type Fallback = NonNullable<LowLevelServer['fallbackRequestHandler']>;
  const wrap = (fallback: Fallback): Fallback => {
    const call = gateCall(fallback as AnyHandler);
    const list = filterList(fallback as AnyHandler);
    return async (request, extra) => {
      if (request.method === 'tools/call') {
        // Unvalidated: only a well-formed call is decided (a string name, object arguments if any).
        const parsed = CallToolRequestSchema.safeParse(request);
        if (!parsed.success) throw new McpError(ErrorCode.InvalidParams, 'Invalid tools/call request');
        return (await call({ ...request, params: parsed.data.params }, extra)) as never;
      }
      if (request.method === 'tools/list') return (await list(request, extra)) as never;
      return fallback(request, extra);
    };
  };
  // One assigned before gating is kept, now gated.
  const before = server.fallbackRequestHandler;
  let gated = typeof before === 'function' ? wrap(before) : undefined;
  Object.defineProperty(server, 'fallbackRequestHandler', {
    get: () => gated,
    set: (next: Fallback | undefined) => {
      gated = typeof next === 'function' ? wrap(next) : undefined;
    },
    enumerable: true,
    configurable: false,
  });
}

export function methodOf(schema: unknown): unknown {
  const shape = getObjectShape(schema as never);
  return shape?.method ? getLiteralValue(shape.method) : undefined;
}

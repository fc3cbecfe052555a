import type { User } from '@hexgate/core';
import { recordDecision } from '@hexgate/tracing';
import {
  type CallToolResult,
  ErrorCode,
  type JSONRPCMessage,
  type RequestId,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { decideCall, type GateContext, recordForwarded } from '../decide-call.ts';
import { visibleTools } from '../resolve-caller.ts';
import { toToolResult } from '../to-tool-result.ts';
import type { PinCheck, ToolPins } from '../tool-pins.ts';
import { traceMcpCall } from '../trace-call.ts';

export interface ToolGatewayOptions {
  readonly ctx: GateContext;
  readonly user: User | undefined;
  readonly pins: ToolPins;
  readonly toServer: (message: JSONRPCMessage) => void;
  readonly toClient: (message: JSONRPCMessage) => void;
  readonly log: (line: string) => void;
  /** The server's name from its `initialize` answer (the default agent name). */
  readonly onServerName: (name: string) => void;
}

export interface ToolGateway {
  fromClient(message: JSONRPCMessage): void;
  fromServer(message: JSONRPCMessage): void;
  /** Fails pending internal requests (the server is gone). */
  close(): void;
}

// The proxy's own requests to the server; a client would have to pick this
// exact prefix to collide with them.
const INTERNAL_ID = 'hexgate-proxy/';
/** How long to wait for the server's own tools/list. */
const LIST_TIMEOUT_MS = 30_000;

export function createToolGateway(options: ToolGatewayOptions): ToolGateway {
  const { ctx, user, pins, toServer, toClient, log } = options;
  const { enforcer } = ctx;
  /** Latest definitions seen from the server, by name. */
  let definitions = new Map<string, Tool>();
  /** Set by `notifications/tools/list_changed`: re-read definitions before the next call. */
  let stale = false;
  let initializeId: RequestId | undefined;
  const clientLists = new Set<RequestId>();
  const internal = new Map<string, { resolve: (result: unknown) => void; reject: (e: Error) => void }>();
  let nextInternal = 0;
  let refreshing: Promise<void> | undefined;
  const reported = new Set<string>();
  /**
   * Ids of the tools/call requests being decided (pin check, policy, approver). A
   * cancellation from the client removes its id: that call is then never forwarded,
   * even if an approver says yes later.
   */
  const deciding = new Set<RequestId>();

  const reply = (id: RequestId, result: CallToolResult) => toClient({ jsonrpc: '2.0', id, result });
  const replyError = (id: RequestId, code: ErrorCode, message: string) =>
    toClient({ jsonrpc: '2.0', id, error: { code, message } });

  /** Pins every definition seen (first sight) and checks it against its pin. */
  const observe = (tool: Tool): PinCheck => {
    definitions.set(tool.name, tool);
    const check = pins.check(tool);
    const key = `${tool.name}:${check.hash}`;
    if (!check.ok && !reported.has(key)) {
      reported.add(key);
      log(
        `tool '${tool.name}' changed since it was pinned (pinned ${check.pinned}, now ${check.hash}); ` +
          'it is hidden and its calls are denied until an operator accepts the new definition',
      );
    }
    return check;
  };

  const requestServer = (method: string, params: Record<string, unknown>): Promise<unknown> => {
    const id = `${INTERNAL_ID}${++nextInternal}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        internal.delete(id);
        reject(new Error(`the server did not answer ${method}`));
      }, LIST_TIMEOUT_MS);
      timer.unref?.();
      internal.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      toServer({ jsonrpc: '2.0', id, method, params });
    });
  };

  /** Reads the server's full tool list (all pages) itself, to check a call against current definitions. */
  const refresh = (): Promise<void> => {
    refreshing ??= (async () => {
      try {
        const seen = new Map<string, Tool>();
        let cursor: string | undefined;
        do {
          const page = (await requestServer('tools/list', cursor ? { cursor } : {})) as {
            tools?: Tool[];
            nextCursor?: string;
          };
          for (const tool of page.tools ?? []) seen.set(tool.name, tool);
          cursor = page.nextCursor;
        } while (cursor);
        definitions = seen;
        stale = false;
        for (const tool of seen.values()) observe(tool);
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  };

  /**
   * A denial the enforcer did not make (changed definition, unreadable
   * definitions, a proxy error), recorded like one: listeners and the audit
   * trail get the arguments (their snapshot; none when core refuses them).
   */
  const gatewayDenial = (tool: string, reason: string, args: unknown): CallToolResult => {
    const agentName = ctx.agentName();
    const { decision } = enforcer.refuse(
      { tool, args: args ?? {}, ...(user ? { user } : {}), ...(agentName !== undefined ? { agentName } : {}) },
      reason,
    );
    recordDecision(decision, args);
    return toToolResult(decision);
  };

  const handleCall = async (id: RequestId, params: Record<string, unknown>, message: JSONRPCMessage) => {
    const name = params.name;
    const raw = params.arguments;
    if (typeof name !== 'string' || name === '') {
      return replyError(id, ErrorCode.InvalidParams, 'Invalid params: tools/call needs a tool name');
    }
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
      return replyError(id, ErrorCode.InvalidParams, 'Invalid params: tools/call arguments must be an object');
    }
    // Pin check first: a poisoned tool never reaches an approver.
    try {
      if (stale || !definitions.has(name)) await refresh();
      const definition = definitions.get(name);
      const check = definition ? observe(definition) : undefined;
      if (check && !check.ok) {
        const reason =
          `the tool's definition changed since it was pinned (pinned sha256 ${check.pinned}, now ${check.hash}); ` +
          'an operator must accept the new definition';
        return reply(id, gatewayDenial(name, reason, raw));
      }
    } catch (e) {
      return reply(
        id,
        gatewayDenial(name, `could not verify the tool's definition: ${(e as Error)?.message ?? e}`, raw),
      );
    }
    const verdict = await decideCall(ctx, { tool: name, args: raw ?? {}, user });
    if ('result' in verdict) return reply(id, verdict.result);
    if (!deciding.has(id)) return log(`did not forward tools/call ${JSON.stringify(id)}: the client cancelled it`);
    // The tool runs in the server process: traced as delegated, not as an execution here.
    recordForwarded(verdict);
    toServer({ ...message, params: { ...params, arguments: verdict.run } } as JSONRPCMessage);
  };

  return {
    fromClient(message) {
      if ('method' in message) {
        // The server's answer to such a request would be taken for one of the proxy's own (the
        // tools/list read to check a call's pin): refused, so a client cannot feed the pin check.
        if ('id' in message && typeof message.id === 'string' && message.id.startsWith(INTERNAL_ID)) {
          return replyError(
            message.id,
            ErrorCode.InvalidRequest,
            `Invalid request: ids starting with '${INTERNAL_ID}' are reserved by the proxy`,
          );
        }
        const params = (message.params ?? {}) as Record<string, unknown>;
        if (message.method === 'tools/call') {
          // Sent as a notification there is no one to answer, and a lenient
          // server might still run it: it never reaches the server.
          if (!('id' in message)) return log('dropped a tools/call notification (a call needs a request id)');
          // One traced run per call, for the proxy's fixed user (stdio has no MCP session id).
          const call = {
            tool: params.name,
            user,
            agentName: ctx.agentName(),
            args: params.arguments,
            requestId: message.id,
          };
          deciding.add(message.id);
          traceMcpCall(call, () =>
            handleCall(message.id, params, message)
              .catch((e) =>
                reply(
                  message.id,
                  gatewayDenial(String(params.name), `proxy error: ${(e as Error)?.message ?? e}`, params.arguments),
                ),
              )
              .finally(() => deciding.delete(message.id)),
          );
          return;
        }
        if (message.method === 'notifications/cancelled') deciding.delete(params.requestId as RequestId);
        if (message.method === 'tools/list' && 'id' in message) clientLists.add(message.id);
        if (message.method === 'initialize' && 'id' in message) initializeId = message.id;
      }
      toServer(message);
    },

    fromServer(message) {
      if (!('method' in message) && 'id' in message && message.id !== undefined) {
        const waiting = typeof message.id === 'string' ? internal.get(message.id) : undefined;
        if (waiting) {
          internal.delete(message.id as string);
          if ('result' in message) waiting.resolve(message.result);
          else waiting.reject(new Error(message.error.message));
          return;
        }
        if (clientLists.delete(message.id) && 'result' in message) {
          const result = message.result as { tools?: Tool[] };
          let usable: Tool[];
          try {
            usable = (result.tools ?? []).filter((tool) => observe(tool).ok);
          } catch (e) {
            log(`could not check tool pins: ${(e as Error)?.message ?? e}`);
            usable = [];
          }
          message = { ...message, result: { ...result, tools: visibleTools(enforcer, usable, user) } };
        } else if (message.id === initializeId) {
          initializeId = undefined;
          const info =
            'result' in message ? (message.result as { serverInfo?: { name?: unknown } }).serverInfo : undefined;
          if (typeof info?.name === 'string') options.onServerName(info.name);
        }
      } else if ('method' in message && message.method === 'notifications/tools/list_changed') {
        stale = true;
      }
      toClient(message);
    },

    close() {
      for (const waiting of internal.values()) waiting.reject(new Error('the server closed'));
      internal.clear();
    },
  };
}

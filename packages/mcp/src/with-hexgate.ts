/**
 * `withHexgate(mcpServer, options)`: gates every tool of an `McpServer`,
 * including tools registered (or callbacks swapped with `update`) later.
 *
 * Where the gate sits, and why:
 * - The decision is made inside the tool's callback slot, i.e. AFTER the SDK
 *   validated the arguments against the tool's zod schema (defaults,
 *   coercions and transforms applied). The policy therefore decides on the
 *   very value the tool would receive, and the callback is then called with
 *   the frozen snapshot of it (`result.args`), never with another copy.
 * - `tools/list` and `tools/call` are also wrapped at the request-handler
 *   level: the list is filtered per caller, and a call to a tool the caller
 *   could never use is denied before schema validation, so its error
 *   messages do not reveal the tool's schema (or whether it exists).
 *
 * - A tools/call handler someone sets on `server.server` (replacing
 *   McpServer's own) or assigns as `fallbackRequestHandler` is gated like the
 *   low-level form's; one that reaches the handler map past those is refused.
 *
 * McpServer 1.x exposes no hook for any of this, so this uses its private
 * members (`_registeredTools`, `setToolRequestHandlers`, the protocol's
 * `_requestHandlers` map). If they are missing (an incompatible SDK)
 * `withHexgate` throws: it never leaves a server silently ungated.
 */
import { InvalidOptionsError, type User } from '@hexgate/core';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type CallToolResult, ErrorCode, type ListToolsResult, McpError } from '@modelcontextprotocol/sdk/types.js';
import { asCaller } from './caller-scope.ts';
import { decideCall, runAllowed } from './decide-call.ts';
import { type GateOptions, gateContext } from './gate-options.ts';
import { callerResolver, type McpRequestExtra, type ResolveUser, visibleTools } from './resolve-caller.ts';
import { taskOwners } from './task-owners.ts';
import { traceMcpCall } from './trace-call.ts';
import {
  type AnyHandler,
  gateFallback,
  gateLowLevelServer,
  type LowLevelServer,
  methodOf,
  toolCallGate,
  toolListFilter,
} from './with-hexgate-server.ts';

export interface WithHexgateOptions extends GateOptions {
  /**
   * The caller of a request, from its transport context: usually the verified
   * OAuth token in `extra.authInfo` (HTTP), or the identity the stdio process
   * was launched for. Return `undefined` for an anonymous caller.
   */
  readonly resolveUser?: ResolveUser;
}

type Handler = (request: { params?: Record<string, unknown> }, extra: McpRequestExtra) => Promise<unknown>;
type ToolCallback = (...params: unknown[]) => unknown;
interface TaskHandler {
  createTask: (...params: unknown[]) => unknown;
}
interface RegisteredToolLike {
  inputSchema?: unknown;
  handler: ToolCallback | TaskHandler;
}
interface McpServerInternals {
  _registeredTools?: Record<string, RegisteredToolLike>;
  _toolHandlersInitialized?: boolean;
  setToolRequestHandlers?: () => void;
  server: { _requestHandlers?: Map<string, Handler>; _serverInfo?: { name?: string }; _taskStore?: object };
}

const GATED = Symbol.for('@hexgate/mcp.gated');

/** Gates an `McpServer` (or a low-level `Server`) in place and returns it. */
export function withHexgate<S extends McpServer | LowLevelServer>(server: S, options: WithHexgateOptions): S {
  if (isMcpServer(server)) gateMcpServer(server, options);
  else gateLowLevelServer(server as LowLevelServer, options, 'withHexgate');
  return server;
}

function isMcpServer(server: unknown): server is McpServer {
  const s = server as Partial<McpServer> | undefined;
  return typeof s?.registerTool === 'function' && typeof s.server?.setRequestHandler === 'function';
}

function gateMcpServer(mcp: McpServer, options: WithHexgateOptions): void {
  const internals = mcp as unknown as McpServerInternals;
  const registry = internals._registeredTools;
  const handlers = internals.server._requestHandlers;
  if (
    typeof registry !== 'object' ||
    registry === null ||
    !(handlers instanceof Map) ||
    typeof internals.setToolRequestHandlers !== 'function' ||
    typeof internals._toolHandlersInitialized !== 'boolean'
  ) {
    throw new InvalidOptionsError(
      'withHexgate: this McpServer does not look like @modelcontextprotocol/sdk 1.x (no tool registry); refusing to run it ungated',
    );
  }
  const lowLevel = mcp.server;
  if ((mcp as unknown as Record<symbol, unknown>)[GATED] || (lowLevel as unknown as Record<symbol, unknown>)[GATED]) {
    throw new InvalidOptionsError('withHexgate: this server is already gated');
  }
  // McpServer installs its tools/call handler with its first tool. One already
  // there before that is not McpServer's: someone set it on `server.server`.
  if (!internals._toolHandlersInitialized && handlers.has('tools/call')) {
    throw new InvalidOptionsError(
      'withHexgate: a tools/call handler was set on server.server directly; apply withHexgate before setRequestHandler() so every call is gated',
    );
  }
  // Options are checked before the server is marked: bad options leave it ungated but unmarked, so it can be gated again.
  const ctx = gateContext(options, 'withHexgate', () => internals.server._serverInfo?.name);
  const { enforcer } = ctx;
  const resolve = callerResolver(options.resolveUser);
  Object.defineProperty(mcp, GATED, { value: true });
  Object.defineProperty(lowLevel, GATED, { value: true });

  // McpServer's own tools/call handler (the one that runs the gated
  // callbacks) is told apart from any other by where it is installed from:
  // McpServer's setToolRequestHandlers, now or with its first tool.
  let own = internals._toolHandlersInitialized ? handlers.get('tools/call') : undefined;
  let installingOwn = false;
  const setToolRequestHandlers = internals.setToolRequestHandlers;
  Object.defineProperty(mcp, 'setToolRequestHandlers', {
    value: function setOwnToolRequestHandlers(this: McpServer) {
      installingOwn = true;
      try {
        setToolRequestHandlers.call(this);
        own = Map.prototype.get.call(handlers, 'tools/call') as Handler | undefined;
      } finally {
        installingOwn = false;
      }
    },
    writable: false,
    configurable: false,
  });

  // The request-level wrapper resolves the caller once per request; the
  // callback reuses it. Keyed by the request's abort signal: the SDK hands a
  // task tool a copy of `extra`, but the same signal.
  const callers = new WeakMap<object, { user: User | undefined }>();
  const callerOf = (extra: McpRequestExtra) => {
    const cached = callers.get(extra.signal);
    return cached ? cached.user : resolve(extra);
  };

  // Tasks of gated task tools are served only to the caller that created them (see task-owners.ts).
  const tasks = taskOwners(internals.server._taskStore);

  // --- the callback slot: decide on the validated arguments, run with the snapshot.
  const names = new WeakMap<object, string>();
  const gateTool = (name: string, tool: RegisteredToolLike) => {
    names.set(tool, name);
    if (Object.hasOwn(tool, GATED)) return;
    Object.defineProperty(tool, GATED, { value: true });
    const gate = (inner: ToolCallback | TaskHandler) => gatedHandler(tool, inner);
    let current = gate(tool.handler);
    // `update({ callback })` assigns `handler`; the setter gates the new callback too.
    Object.defineProperty(tool, 'handler', {
      get: () => current,
      set: (next: ToolCallback | TaskHandler) => {
        current = gate(next);
      },
      enumerable: true,
      configurable: false,
    });
  };

  const gatedHandler = (tool: RegisteredToolLike, inner: ToolCallback | TaskHandler): ToolCallback | TaskHandler => {
    const invoke = async (
      call: (params: unknown[]) => unknown,
      params: unknown[],
    ): Promise<{ denied: CallToolResult } | { value: unknown; user: User | undefined }> => {
      // Same test the SDK uses to choose between `cb(args, extra)` and `cb(extra)`.
      const hasArgs = Boolean(tool.inputSchema);
      const extra = (hasArgs ? params[1] : params[0]) as McpRequestExtra;
      const user = await callerOf(extra);
      const verdict = await decideCall(ctx, {
        tool: names.get(tool) ?? '',
        args: hasArgs ? withoutUndefined(params[0]) : {},
        user,
        signal: extra.signal,
      });
      if ('result' in verdict) return { denied: verdict.result };
      // The callback receives the decided snapshot in place of the validated arguments.
      const decided = hasArgs ? [verdict.run, extra] : [extra];
      return { value: await runAllowed(verdict, () => asCaller(user, () => call(decided))), user };
    };

    if (typeof inner === 'function') {
      return async (...params: unknown[]) => {
        const out = await invoke((decided) => inner(...decided), params);
        return 'denied' in out ? out.denied : out.value;
      };
    }
    // Experimental task tools: gate task creation. A denial is thrown; the SDK
    // turns it into an `isError` result (or an error for task-augmented calls).
    const taskHandler = Object.create(inner) as TaskHandler;
    taskHandler.createTask = async (...params: unknown[]) => {
      const out = await invoke((decided) => inner.createTask(...decided), params);
      if ('denied' in out) throw new Error(textOf(out.denied));
      tasks.record(out.value, out.user);
      return out.value;
    };
    return taskHandler;
  };

  for (const [name, tool] of Object.entries(registry)) gateTool(name, tool);
  internals._registeredTools = new Proxy(registry, {
    set(target, key, value) {
      if (typeof key === 'string' && typeof value === 'object' && value !== null) gateTool(key, value);
      return Reflect.set(target, key, value);
    },
  });

  // --- handlers set on `server.server` (not McpServer's): Protocol's
  // setRequestHandler silently replaces McpServer's tools/call handler, and
  // the replacement would run every call with the raw arguments, undecided.
  // They are gated like the low-level form's; so is `fallbackRequestHandler`.
  const gateCall = toolCallGate(ctx, resolve);
  const foreign = new WeakSet<Handler>();
  const install = lowLevel.setRequestHandler;
  Object.defineProperty(lowLevel, 'setRequestHandler', {
    value: function setGatedRequestHandler(this: LowLevelServer, schema: never, handler: AnyHandler) {
      if (installingOwn || methodOf(schema) !== 'tools/call') return install.call(this, schema, handler as never);
      install.call(this, schema, gateCall(handler) as never);
      // The map entry the SDK made for it (read past the wrapped `get` below).
      const entry = Map.prototype.get.call(handlers, 'tools/call') as Handler | undefined;
      if (entry) foreign.add(entry);
    },
    writable: false,
    configurable: false,
  });
  gateFallback(lowLevel, gateCall, toolListFilter(enforcer, resolve));

  // --- request level: per-caller tools/list, and an early deny for tools the caller can never use.
  const refuse: Handler = async () => {
    throw new McpError(
      ErrorCode.InternalError,
      'hexgate: this tools/call handler was not installed through the gated server; refusing to run it ungated',
    );
  };
  wrapRequestHandlers(handlers, {
    'tools/list': (inner) => async (request, extra) => {
      const user = await resolve(extra);
      const result = (await inner(request, extra)) as ListToolsResult;
      return { ...result, tools: visibleTools(enforcer, result.tools ?? [], user) };
    },
    'tools/call': (inner) => {
      if (inner === own) return earlyDeny(inner);
      // Gated where it was installed; anything else was written into the map past every gate.
      return foreign.has(inner) ? inner : refuse;
    },
    'tasks/get': ownedTask,
    'tasks/result': ownedTask,
    'tasks/cancel': ownedTask,
    'tasks/list': (inner) => async (request, extra) => {
      const user = await resolve(extra);
      const result = (await inner(request, extra)) as { tasks?: { taskId?: unknown }[] };
      return { ...result, tasks: (result.tasks ?? []).filter((task) => tasks.owns(task.taskId, user)) };
    },
  });

  /** A task request: answered only for the caller who created the task, "not found" for anyone else. */
  function ownedTask(inner: Handler): Handler {
    return async (request, extra) => {
      const user = await resolve(extra);
      const taskId = request.params?.taskId;
      if (!tasks.owns(taskId, user)) {
        throw new McpError(ErrorCode.InvalidParams, `Task not found: ${typeof taskId === 'string' ? taskId : ''}`);
      }
      return inner(request, extra);
    };
  }

  function earlyDeny(inner: Handler): Handler {
    return async (request, extra) => {
      const user = await resolve(extra);
      callers.set(extra.signal, { user });
      const name = request.params?.name;
      // One traced run per call, around the SDK's own handling: the decision
      // and the execution made in the callback slot nest under it.
      const call = {
        tool: name,
        user,
        sessionId: extra.sessionId,
        agentName: ctx.agentName(),
        args: request.params?.arguments,
        requestId: extra.requestId,
      };
      return traceMcpCall(call, async () => {
        // A malformed request (no name) is left to the SDK, which rejects it.
        const hidden = typeof name === 'string' && enforcer.mode === 'enforce' && !enforcer.couldCall(name, user);
        if (hidden) {
          const verdict = await decideCall(ctx, {
            tool: name,
            args: request.params?.arguments ?? {},
            user,
            signal: extra.signal,
          });
          if ('result' in verdict) return verdict.result;
        }
        return inner(request, extra);
      });
    };
  }
}

/** Wraps present and future handlers of the given methods in a protocol's handler map. */
function wrapRequestHandlers(map: Map<string, Handler>, wrappers: Record<string, (inner: Handler) => Handler>): void {
  const cache = new WeakMap<Handler, Handler>();
  const get = map.get.bind(map);
  Object.defineProperty(map, 'get', {
    value: (method: string) => {
      const inner = get(method);
      const wrap = wrappers[method];
      if (!inner || !wrap) return inner;
      let wrapped = cache.get(inner);
      if (!wrapped) {
        wrapped = wrap(inner);
        cache.set(inner, wrapped);
      }
      return wrapped;
    },
  });
}

/**
 * zod may emit `key: undefined` for an optional field with an undefined
 * default. JSON has no `undefined` (an absent key means the same), and core
 * rejects it as non-JSON, so such keys are dropped before deciding.
 */
const DATA = { enumerable: true, writable: true, configurable: true } as const;

function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    // Defined, not assigned: assigning a `__proto__` key (data a schema passed
    // through, e.g. under z.unknown()) would set the copy's prototype instead.
    if (v !== undefined) Object.defineProperty(out, key, { value: withoutUndefined(v), ...DATA });
  }
  return out;
}

function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first && first.type === 'text' ? first.text : 'denied by policy';
}

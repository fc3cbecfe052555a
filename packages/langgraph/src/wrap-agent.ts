/**
 * `wrapLangGraphAgent`: gates a compiled graph's tools IN PLACE and returns
 * the graph with `invoke` / `stream` / `streamEvents` taking the caller's
 * `user` per call. Everything else passes through to the graph.
 *
 * Why in place: a compiled graph holds its tools inside its ToolNode; the
 * instances passed here are the ones it will call, and gating them keeps
 * every path (prebuilt agents, custom nodes, `graph.withConfig(...)`) gated
 * without reaching into LangGraph internals.
 */
import { InvalidOptionsError, runWithUser, tryGetUser, type User } from '@hexgate/core';
import type { StructuredToolInterface } from '@langchain/core/tools';
import type { StreamEvent } from '@langchain/core/tracers/log_stream';
import type { IterableReadableStream } from '@langchain/core/utils/stream';
import { warnOnBackgroundLangfuseCallbacks } from './callback-warning.ts';
import { CARRIER_KEY, createPolicyGate, type PolicyGateOptions, type RunCarrier } from './gate.ts';
import { assertGateable, installGate, isGated } from './gate-tool.ts';
import { type RunMethod, traceGraphRun } from './trace-run.ts';

export interface HexgateCallOptions {
  /** Who this run acts for. Defaults to the user in `runWithUser` scope. */
  readonly user?: User;
  /** The agent name reported with this run's decisions. */
  readonly agentName?: string;
}

type AnyFn = (...args: any[]) => any;
export interface GraphLike {
  invoke: AnyFn;
  stream: AnyFn;
  streamEvents: AnyFn;
}
type Config<G extends GraphLike> = NonNullable<Parameters<G['invoke']>[1]> & HexgateCallOptions;
type Input<G extends GraphLike> = Parameters<G['invoke']>[0];

/** `batch` (compiled graphs have it): one config per input, or one for all, each with its own `user`. */
type GuardedBatch<G> = G extends { batch: AnyFn } & GraphLike
  ? {
      batch(
        inputs: Input<G>[],
        options?: Config<G> | Config<G>[],
        batchOptions?: { maxConcurrency?: number; returnExceptions?: false },
      ): Promise<Awaited<ReturnType<G['invoke']>>[]>;
      batch(
        inputs: Input<G>[],
        options: Config<G> | Config<G>[] | undefined,
        batchOptions: { maxConcurrency?: number; returnExceptions: true },
      ): Promise<(Awaited<ReturnType<G['invoke']>> | Error)[]>;
    }
  : unknown;
/** `withConfig` returns a graph guarded the same way. */
type GuardedWithConfig<G> = G extends { withConfig: (config: infer C) => any }
  ? { withConfig(config: C): GuardedGraph<G & GraphLike> }
  : unknown;

export type GuardedGraph<G extends GraphLike> = Omit<G, 'invoke' | 'stream' | 'streamEvents' | 'batch' | 'withConfig'> &
  GuardedBatch<G> &
  GuardedWithConfig<G> & {
    invoke(input: Input<G>, config?: Config<G>): ReturnType<G['invoke']>;
    stream(
      input: Input<G>,
      config?: Config<G> & { streamMode?: unknown; subgraphs?: boolean },
    ): Promise<IterableReadableStream<any>>;
    streamEvents(
      input: Input<G>,
      config: Config<G> & { version: 'v1' | 'v2' },
      streamOptions?: unknown,
    ): IterableReadableStream<StreamEvent>;
    /** v3 streams (`GraphRunStream` / `AgentRunStream`); typed loosely here. */
    streamEvents(input: Input<G>, config: Config<G> & { version: 'v3' }): Promise<any>;
  };

const RUN_METHODS: readonly RunMethod[] = ['invoke', 'stream', 'streamEvents'];

export function wrapLangGraphAgent<G extends GraphLike>(
  graph: G,
  tools: readonly StructuredToolInterface[],
  options: PolicyGateOptions,
): GuardedGraph<G> {
  if (typeof graph?.invoke !== 'function' || typeof graph.stream !== 'function') {
    throw new InvalidOptionsError('wrapLangGraphAgent: the first argument must be a compiled graph or agent');
  }
  if (!Array.isArray(tools)) throw new InvalidOptionsError('wrapLangGraphAgent: pass the tools the graph uses');
  // Validate everything before mutating anything; gate each instance once.
  const unique = [...new Set(tools)];
  unique.forEach(assertGateable);
  assertGraphToolsCovered(graph, unique);
  const gate = createPolicyGate(options);
  for (const tool of unique) installGate(tool, tool as never, gate);

  const rawName = (graph as { name?: unknown }).name;
  const graphName = typeof rawName === 'string' && rawName !== 'LangGraph' ? rawName : undefined;
  const defaultAgentName = options.agentName ?? graphName;

  const bind =
    (target: GraphLike, name: RunMethod, method: AnyFn) =>
    (input: unknown, config?: Record<string, any>, ...rest: unknown[]) => {
      const { user: explicit, agentName, ...graphConfig } = config ?? {};
      const given = (explicit as User | undefined) ?? tryGetUser();
      // runWithUser stores a frozen copy; read it back so scope and carrier hold the same object.
      const user = given ? runWithUser(given, () => tryGetUser()) : undefined;
      const controller = new AbortController();
      const carrier: RunCarrier = {
        ...(user ? { user } : {}),
        agentName: (agentName as string | undefined) ?? defaultAgentName,
        fail: (error) => controller.abort(error),
      };
      const runConfig = {
        ...graphConfig,
        signal: graphConfig.signal ? AbortSignal.any([graphConfig.signal, controller.signal]) : controller.signal,
        configurable: { ...graphConfig.configurable, [CARRIER_KEY]: carrier },
      };
      warnOnBackgroundLangfuseCallbacks(graphConfig.callbacks);
      // Bind the user, and open the traced run, around the call that CREATES
      // the run: LangGraph captures the async context when a run or stream
      // starts, not when it is read.
      const run = { method: name, user, agentName: carrier.agentName, graphName };
      const start = () => traceGraphRun(run, () => method.call(target, input, runConfig, ...rest));
      return user ? runWithUser(user, start) : start();
    };

  const guard = (target: GraphLike): GuardedGraph<G> => {
    const methods = new Map<PropertyKey, AnyFn>(RUN_METHODS.map((m) => [m, bind(target, m, (target as any)[m])]));
    const proxy: GuardedGraph<G> = new Proxy(target, {
      get(t, prop) {
        const own = methods.get(prop);
        if (own) return own;
        const value = Reflect.get(t, prop, t);
        if (typeof value !== 'function') return value;
        // A graph derived with withConfig is guarded the same way: otherwise its
        // invoke would silently drop the per-call `user` (the scope's user, or
        // none, would be decided instead).
        if (prop === 'withConfig') {
          return (config?: Record<string, unknown>) => {
            if (config && typeof config === 'object' && ('user' in config || 'agentName' in config)) {
              throw new InvalidOptionsError('wrapLangGraphAgent: pass user and agentName per call, not to withConfig');
            }
            return guard(value.call(t, config));
          };
        }
        // Runnable#batch runs each input through this.invoke: through the
        // proxy, each gets its own config's `user`, as invoke does.
        if (prop === 'batch') return value.bind(proxy);
        // Bound so methods using private fields (e.g. langchain's ReactAgent) still work.
        return value.bind(t);
      },
    }) as unknown as GuardedGraph<G>;
    return proxy;
  };
  return guard(graph);
}

/**
 * Fails closed when the graph runs a tool that was not passed in (it would run
 * ungated): the ToolNodes of the graph and of every compiled subgraph added as
 * a node (an agent inside a supervisor graph, ...), at any depth.
 */
function assertGraphToolsCovered(graph: object, tools: readonly StructuredToolInterface[]): void {
  const seen = new Set<object>();
  const visit = (current: unknown) => {
    if (typeof current !== 'object' || current === null || seen.has(current)) return;
    seen.add(current);
    const g = current as { nodes?: unknown; graph?: { nodes?: unknown } };
    const nodes = (g.nodes ?? g.graph?.nodes ?? {}) as Record<string, { bound?: { tools?: unknown; nodes?: unknown } }>;
    for (const node of Object.values(nodes)) {
      const bound = node?.bound;
      // A compiled subgraph as a node: its bound runnable is the graph itself.
      if (typeof bound?.nodes === 'object') visit(bound);
      const inNode = bound?.tools;
      if (!Array.isArray(inNode)) continue;
      for (const t of inNode as { name?: string; invoke?: unknown }[]) {
        if (typeof t?.invoke !== 'function' || tools.includes(t as never) || isGated(t)) continue;
        throw new InvalidOptionsError(
          `wrapLangGraphAgent: the graph uses tool '${t.name}' but it was not passed in, so it would run ungated`,
        );
      }
    }
  };
  visit(graph);
}

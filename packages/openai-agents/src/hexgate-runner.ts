/**
 * `HexgateRunner`: the SDK's `Runner` with every tool call decided by a
 * hexgate policy for the user the run is made for.
 *
 * One runner (and the gated copy of each agent it has seen) serves every user:
 * the user is bound with `runWithUser` around the SDK's `run` call itself,
 * because the SDK captures async context when a run (or a stream) starts,
 * not when it is consumed. For the same reason each run is traced there
 * (`@hexgate/tracing`, inside the user's scope): one run observation per
 * `run` call, streamed or not, fresh or resumed.
 */
import { type Enforcer, type EnforcerOptions, InvalidOptionsError, runWithUser, type User } from '@hexgate/core';
import { isTracingEnabled, type RunInfo, traceRun, traceRunStream } from '@hexgate/tracing';
import {
  type Agent,
  type AgentInputItem,
  type NonStreamRunOptions,
  type RunConfig,
  Runner,
  type RunResult,
  RunState,
  type StreamedRunResult,
  type StreamRunOptions,
  type ToolErrorFormatter,
} from '@openai/agents';
import { agentToolSource } from './agent-tool-source.ts';
import { ApprovalBook, settleAnswers } from './approvals.ts';
import { createGate, type Gate, type GateOptions, type HexgateOptions, resolveUser } from './options.ts';
import { gateOf, wrapWithGate } from './wrap-agent.ts';

type AnyAgent = Agent<any, any>;

/** `{ policy | enforcer, ...hexgate options, ...the SDK Runner's own config }`. */
export type HexgateRunnerConfig = HexgateOptions & Partial<RunConfig>;

/** The SDK's run options plus the user the run acts for. */
export type HexgateRunOptions<O> = O & {
  /** Bound with `runWithUser` for the whole run, and carried in the run context when you pass none. */
  readonly user?: User;
};

/**
 * The config keys that are hexgate's; every other key is the SDK Runner's. The
 * `satisfies` clause stops compiling when core's enforcer options or the gate
 * options gain a key, so none can slip silently into the SDK's config.
 */
const HEXGATE_KEYS = {
  policy: true,
  enforcer: true,
  agentName: true,
  mode: true,
  requireUser: true,
  onDecision: true,
  onApproval: true,
  recorder: true,
  argsLimits: true,
  approvalHandler: true,
  approvalTimeoutMs: true,
  formatDecision: true,
} satisfies Record<Exclude<keyof EnforcerOptions | keyof GateOptions, 'handoffInputFilter'> | 'enforcer', true>;

type RunInput<TContext, TAgent extends AnyAgent> = string | AgentInputItem[] | RunState<TContext, TAgent>;

export class HexgateRunner {
  /** The underlying SDK runner (lifecycle hooks: `runner.sdkRunner.on('agent_tool_start', ...)`). */
  readonly sdkRunner: Runner;
  readonly enforcer: Enforcer;
  readonly #gate: Gate;
  readonly #agents = new WeakMap<AnyAgent, AnyAgent>();

  constructor(config: HexgateRunnerConfig) {
    const hexgate: Record<string, unknown> = {};
    const runConfig: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config ?? {}))
      (Object.hasOwn(HEXGATE_KEYS, key) ? hexgate : runConfig)[key] = value;
    // The SDK's `handoffInputFilter` stays in the Runner's config too; gated handoffs apply it themselves.
    this.#gate = createGate({ ...hexgate, handoffInputFilter: runConfig.handoffInputFilter } as HexgateOptions);
    this.enforcer = this.#gate.enforcer;
    this.sdkRunner = new Runner(runConfig);
  }

  /**
   * The gated copy of `agent` this runner uses (made once, then reused for every run and user).
   * Under loaders that give `require` its own module copies (tsx), an agent with agent tools can
   * be gated only once the first `run` has loaded the SDK's agent-tool registry.
   */
  gated<TAgent extends AnyAgent>(agent: TAgent): TAgent {
    return wrapWithGate(agent, this.#gate, this.#agents);
  }

  run<TAgent extends AnyAgent, TContext = undefined>(
    agent: TAgent,
    input: RunInput<TContext, TAgent>,
    options?: HexgateRunOptions<NonStreamRunOptions<TContext, TAgent>>,
  ): Promise<RunResult<TContext, TAgent>>;
  run<TAgent extends AnyAgent, TContext = undefined>(
    agent: TAgent,
    input: RunInput<TContext, TAgent>,
    options: HexgateRunOptions<StreamRunOptions<TContext, TAgent>>,
  ): Promise<StreamedRunResult<TContext, TAgent>>;
  run(
    agent: AnyAgent,
    input: RunInput<unknown, AnyAgent>,
    options: HexgateRunOptions<Record<string, any>> = {},
  ): Promise<unknown> {
    const { user, ...sdkOptions } = options;
    if (user !== undefined && (typeof user !== 'object' || user === null || typeof user.id !== 'string'))
      return Promise.reject(
        new InvalidOptionsError('hexgate: `user` must be a User: { id: string, roles?: string[] }'),
      );
    const resumed = input instanceof RunState;
    const start = async () => {
      await agentToolSource.ready();
      const gated = this.gated(agent);
      // Every run, streamed or not, fresh or resumed, passes through here:
      // this is the place for run-level hooks (tracing spans, audit context).
      const runInput = resumed ? await this.#resume(gated, input) : input;
      const carrier = !resumed && sdkOptions.context === undefined && user ? { context: { user } } : {};
      return this.sdkRunner.run(
        gated,
        runInput as never,
        {
          ...sdkOptions,
          ...carrier,
          toolErrorFormatter: this.#formatter(
            sdkOptions.toolErrorFormatter ?? this.sdkRunner.config.toolErrorFormatter,
          ),
        } as never,
      );
    };
    const traced = () => {
      if (!isTracingEnabled()) return start(); // no tracer registered: exactly the untraced call
      // The run is traced for the user its calls are decided for (`user` is bound by now).
      const who = resolveUser(resumed ? input._context : { context: sdkOptions.context });
      const info: RunInfo = {
        framework: 'openai-agents',
        agentName: agent.name,
        ...(who ? { user: who } : {}),
        metadata: { resumed },
      };
      // A streamed run is over when its `completed` settles (it rejects if the run fails),
      // however the stream is consumed: iteration, toTextStream(), toStream().
      if (sdkOptions.stream === true)
        return traceRunStream(info, start, { until: (r) => (r as StreamedRunResult<any, any>).completed });
      return traceRun(info, start);
    };
    return user ? runWithUser(user, traced) : traced();
  }

  /**
   * A RunState restored with the application's own agent (`RunState.fromString(agent, s)`)
   * points at ungated tools: rebind it to this runner's gated graph (same names,
   * same approvals) before resuming, then settle the answers the application gave.
   */
  async #resume(gated: AnyAgent, state: RunState<any, any>): Promise<RunState<any, any>> {
    const bound =
      gateOf(state._currentAgent) === this.#gate
        ? state
        : await RunState.fromStringWithContext(gated, state.toString(), state._context);
    settleAnswers(this.#gate, bound, (agent) => gateOf(agent) === this.#gate);
    return bound;
  }

  /** Rejected approvals reach the model as the decision text, unless `state.reject(item, { message })` set one. */
  #formatter(next: ToolErrorFormatter<any> | undefined): ToolErrorFormatter<any> {
    return (args) => {
      if (args.kind === 'approval_rejected') {
        const user = resolveUser(args.runContext);
        const text = this.#gate.book.takeRejection(ApprovalBook.key(user?.id, args.toolName, args.callId));
        if (text !== undefined) return text;
      }
      return next?.(args);
    };
  }
}

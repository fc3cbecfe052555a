/**
 * Gates a computer tool (`computerTool({ computer })`): a copy whose computer
 * (an instance, or the instances an initializer / provider creates) is a new
 * `Computer` that decides each call before the application's computer acts.
 * Policy tool name: the tool's `name` ('computer_use_preview' by default);
 * arguments: one action as the model sent it (`{ type: 'click', x, y, button }`,
 * `{ type: 'type', text }`...). A call may carry a batch of actions: each is
 * decided on its own, all of them before the first one runs, and the batch
 * runs whole or not at all (a click that is refused must not leave the typing
 * after it to land wherever the focus happens to be).
 *
 * The SDK calls one `Computer` method per action, with the action's fields and
 * the run context, then `screenshot()` for the call's result. The gate learns
 * the call's actions and call id when the call starts (`call-starts.ts`), and
 * maps each method call to the next action, which it runs with the decided
 * snapshot's fields. The call in progress is bound to the async chain the SDK
 * emits the start event from and then calls the methods from, not to the run
 * context: the SDK hands parallel agent-tool runs of one agent the same run
 * context (and so the same computer), so two calls can be in flight on one run
 * context at once. A method call outside such a chain does nothing.
 *
 * A blocked call runs none of its actions and its result is a blank 1x1 image,
 * the one the SDK itself returns for rejected and aborted computer calls. The
 * computer tool's output is an image only, so the decision text reaches the
 * model only for approvals rejected through the run state (the SDK's rejection
 * path adds it as a message); a denial is visible in `onDecision` and traces.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FrozenArgs } from '@hexgate/core';
import type { ComputerTool, RunContext } from '@openai/agents';
import { computerActions, tryHash } from './approvals.ts';
import { type CallGate, createCallGate, type Verdict } from './call-gate.ts';
import { onCallStart } from './call-starts.ts';
import { approvalFields } from './local-approval.ts';
import type { Gate } from './options.ts';

type Computer = Record<string, any>;
type Action = Record<string, any>;

/** The SDK's fallback screenshot (a blank 1x1 PNG), without the data-URL prefix the SDK adds. */
const BLANK_SCREENSHOT =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==';

/** What a call without actions does: the SDK still captures the screen and returns it. */
const SCREENSHOT_ONLY: readonly unknown[] = Object.freeze([Object.freeze({ type: 'screenshot' })]);

/** Each action method, the action type the SDK calls it for and its arguments from the action (the SDK's mapping). */
const METHODS = {
  click: { type: 'click', arity: 3, args: (a: Action) => [a.x, a.y, a.button] },
  doubleClick: { type: 'double_click', arity: 2, args: (a: Action) => [a.x, a.y] },
  scroll: { type: 'scroll', arity: 4, args: (a: Action) => [a.x, a.y, a.scroll_x, a.scroll_y] },
  type: { type: 'type', arity: 1, args: (a: Action) => [a.text] },
  wait: { type: 'wait', arity: 0, args: () => [] },
  move: { type: 'move', arity: 2, args: (a: Action) => [a.x, a.y] },
  keypress: { type: 'keypress', arity: 1, args: (a: Action) => [a.keys] },
  drag: { type: 'drag', arity: 1, args: (a: Action) => [(a.path as Action[]).map((p) => [p.x, p.y])] },
} as const;

/** One computer call in progress: its actions, decided once, consumed in order, until its screenshot ends it. */
interface ComputerCall {
  readonly runContext: RunContext<any>;
  readonly callId: string | undefined;
  readonly actions: readonly unknown[];
  verdicts?: Promise<readonly Verdict[]>;
  cleared: boolean;
  next: number;
  ended: boolean;
}

export function gateComputerTool(tool: ComputerTool<any, any>, agentName: string, gate: Gate): ComputerTool<any, any> {
  const flow = createCallGate(gate, tool.name, agentName, { perArgs: true });
  // The call in progress in this async chain (see the header): set by its start event.
  const current = new AsyncLocalStorage<ComputerCall>();
  const gatedOf = new WeakMap<Computer, Computer>();
  const originalOf = new WeakMap<Computer, Computer>();
  const wrap = (original: Computer): Computer => {
    let gated = gatedOf.get(original);
    if (!gated) {
      gated = gatedComputer(original, flow, current);
      gatedOf.set(original, gated);
      originalOf.set(gated, original);
    }
    return gated;
  };
  const copy = {
    ...tool,
    computer: gatedConfig(tool.computer, wrap, (c) => originalOf.get(c) ?? c),
    ...approvalFields(tool, flow, () => undefined), // no `onApproval` on computer tools
  };
  onCallStart(copy, (runContext, toolCall) => {
    const actions = computerActions(toolCall);
    current.enterWith({
      runContext,
      callId: toolCall.callId,
      actions: actions.length > 0 ? actions : SCREENSHOT_ONLY, // decided as the screenshot it is
      cleared: false,
      next: 0,
      ended: false,
    });
  });
  return copy as ComputerTool<any, any>;
}

/** The same kind of config (instance, initializer or provider), handing out gated computers. */
function gatedConfig(config: any, wrap: (c: Computer) => Computer, unwrap: (c: Computer) => Computer): any {
  if (typeof config === 'function') return async (args: unknown) => wrap(await config(args));
  if (typeof config?.create === 'function' && typeof config.screenshot !== 'function') {
    const provider: Record<string, unknown> = { create: async (args: unknown) => wrap(await config.create(args)) };
    // The application's dispose gets back the computer its create made.
    if (typeof config.dispose === 'function')
      provider.dispose = (args: { computer: Computer }) => config.dispose({ ...args, computer: unwrap(args.computer) });
    return provider;
  }
  return wrap(config);
}

function gatedComputer(original: Computer, flow: CallGate, current: AsyncLocalStorage<ComputerCall>): Computer {
  /** The call a method call belongs to: the one that started in this async chain, for this run, and is not over. */
  const callFor = (runContext: RunContext<any> | undefined): ComputerCall | undefined => {
    const call = current.getStore();
    return call && !call.ended && call.runContext === runContext ? call : undefined;
  };

  /** The call's actions, decided once: every action before the first runs, stopping at a blocked one. */
  const decided = (call: ComputerCall) =>
    (call.verdicts ??= (async () => {
      const site = { runContext: call.runContext, callId: call.callId };
      // Identical actions (TAB, TAB) are one request to the policy and to the reviewer: decided once.
      const byHash = new Map<string, Verdict>();
      const verdicts: Verdict[] = [];
      for (const action of call.actions) {
        const hash = tryHash(action);
        const verdict = (hash !== undefined && byHash.get(hash)) || (await flow.decide(action, site));
        if (hash !== undefined) byHash.set(hash, verdict);
        verdicts.push(verdict);
        if (!verdict.runs) break;
      }
      call.cleared = verdicts.length === call.actions.length && verdicts.every((v) => v.runs);
      if (!call.cleared) for (const verdict of new Set(verdicts)) flow.record(verdict); // none of them runs
      return verdicts;
    })());

  /**
   * Moves past `screenshot` actions (nothing to call: the capture after the
   * batch covers them) to the next action; its index if it is of `type`.
   */
  const advance = (call: ComputerCall, verdicts: readonly Verdict[], type?: string): number | undefined => {
    while (call.next < call.actions.length) {
      const index = call.next++;
      const actionType = (call.actions[index] as Action | undefined)?.type;
      if (actionType !== 'screenshot') return actionType === type ? index : undefined;
      void flow.execute(
        verdicts[index]!,
        () => undefined,
        () => undefined,
      );
    }
    return undefined;
  };

  /** A method call the gate cannot tie to a decided action is refused (reported) and does nothing. */
  const refuse = (type: string, runContext: RunContext<any> | undefined, reason: string) =>
    flow.record(flow.refuse({ type }, reason, runContext));
  const UNANNOUNCED = 'hexgate did not see this computer call start, so it cannot tell which call this is';

  const act = (method: keyof typeof METHODS) => {
    const spec = METHODS[method];
    return async (...params: unknown[]) => {
      const runContext = params[spec.arity] as RunContext<any> | undefined;
      const call = callFor(runContext);
      if (!call) return refuse(spec.type, runContext, UNANNOUNCED);
      const verdicts = await decided(call);
      if (!call.cleared) return; // blocked: nothing of this call runs
      const index = advance(call, verdicts, spec.type);
      // The SDK called a method the call's actions do not account for: fail closed.
      if (index === undefined) return refuse(spec.type, runContext, 'not the next action of this computer call');
      const run = (args: FrozenArgs) => original[method](...spec.args(args as Action), runContext);
      return flow.execute(verdicts[index]!, run, () => undefined);
    };
  };

  const computer: Computer = {
    get environment() {
      return original.environment;
    },
    get dimensions() {
      return original.dimensions;
    },
    async screenshot(runContext?: RunContext<any>) {
      const call = callFor(runContext);
      if (!call) {
        refuse('screenshot', runContext, UNANNOUNCED);
        return BLANK_SCREENSHOT;
      }
      call.ended = true; // the capture ends the call
      const verdicts = await decided(call);
      if (!call.cleared) return BLANK_SCREENSHOT;
      advance(call, verdicts);
      return original.screenshot(runContext);
    },
  };
  for (const method of Object.keys(METHODS) as (keyof typeof METHODS)[]) computer[method] = act(method);
  // Setting up the computer for a run is not an action of the model's.
  if (typeof original.initRun === 'function') computer.initRun = (runContext: unknown) => original.initRun(runContext);
  return computer;
}

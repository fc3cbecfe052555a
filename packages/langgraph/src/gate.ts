/**
 * The policy gate shared by every form of this adapter (tools gated in place,
 * gated copies, createAgent middleware): decide one tool call, then run it,
 * refuse it, or pause the graph for a human.
 *
 * Everything up to `interrupt()` is synchronous on purpose. A raw `ToolNode`
 * runs all calls of a step in one task, and LangGraph matches resume values to
 * `interrupt()` calls by their order in the task; a synchronous prefix keeps
 * that order equal to the order of the tool calls on every replay.
 *
 * Tracing (@hexgate/tracing, a no-op without a registered tracer provider):
 * a call that runs goes through `traceToolCall` (guardrail + tool
 * observations), a call that does not through `recordDecision`. Both land
 * under whatever OpenTelemetry span is active, i.e. the `wrapLangGraphAgent`
 * run or the caller's own observation. Replays served from the ledger are not
 * recorded again: they were neither decided nor run again.
 */
import {
  type ApprovalHandler,
  askApproval,
  canonicalJson,
  type DecisionPayload,
  decisionPayload,
  type Enforcer,
  type FrozenArgs,
  hashArgs,
  InvalidOptionsError,
  runWithUser,
  tryGetUser,
  type User,
} from '@hexgate/core';
import { type ApprovalInfo, recordDecision, traceToolCall } from '@hexgate/tracing';
import { ToolMessage } from '@langchain/core/messages';
import { interrupt, isGraphInterrupt } from '@langchain/langgraph';
import { type ApprovalInterrupt, approvalInterrupt, readAnswer } from './approval-interrupt.ts';
import { ApprovalUnavailableError } from './errors.ts';

export interface PolicyGateOptions {
  readonly enforcer: Enforcer;
  /** Reported with every decision; a per-call `agentName` wins. */
  readonly agentName?: string;
  /** Decide `approval_required` calls inline instead of interrupting the graph. */
  readonly approvalHandler?: ApprovalHandler;
  readonly approvalTimeoutMs?: number;
}

/**
 * Per-run values carried in `config.configurable.hexgate`. An explicit
 * carrier, because LangChain callbacks and some stream consumers run in
 * another request's async context: the gate never needs AsyncLocalStorage
 * when this is set.
 */
export interface RunCarrier {
  readonly user?: User;
  readonly agentName?: string;
  /** Ends the run with this error (the wrapper aborts its signal). */
  readonly fail?: (error: Error) => void;
}

export const CARRIER_KEY = 'hexgate';

/** What the model receives instead of the tool's result. */
export interface Refusal {
  readonly ok: false;
  readonly error: DecisionPayload;
  readonly approval?: { readonly status: 'rejected' | 'expired'; readonly reason: string };
}

export interface GatedCall {
  readonly tool: string;
  readonly args: unknown;
  readonly toolCallId: string | undefined;
  readonly configurable: Record<string, unknown> | undefined;
  /** The run's cancellation: an inline approval still pending when it aborts is rejected. */
  readonly signal: AbortSignal | undefined;
  /** Runs the original tool with exactly this snapshot. */
  run(args: FrozenArgs): Promise<unknown>;
  /** Turns a refusal into the host's tool result (a ToolMessage). */
  refuse(refusal: Refusal): unknown;
}

export type PolicyGate = (call: GatedCall) => Promise<unknown>;

interface LedgerEntry {
  requested?: boolean;
  done?: { result: Promise<unknown>; interrupts: number; request: ApprovalInterrupt | undefined };
}

/** Bounds the in-memory record of finished calls (oldest forgotten first). */
const LEDGER_LIMIT = 10_000;

export function createPolicyGate(options: PolicyGateOptions): PolicyGate {
  if (typeof options?.enforcer?.decide !== 'function') {
    throw new InvalidOptionsError('@hexgate/langgraph: pass { enforcer } (from createEnforcer)');
  }
  if (options.approvalHandler !== undefined && typeof options.approvalHandler !== 'function') {
    throw new InvalidOptionsError('@hexgate/langgraph: approvalHandler must be a function');
  }
  const timeout = options.approvalTimeoutMs;
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))) {
    throw new InvalidOptionsError(
      `@hexgate/langgraph: approvalTimeoutMs must be a positive number of milliseconds, got ${String(timeout)}`,
    );
  }
  const { enforcer, approvalHandler, approvalTimeoutMs } = options;
  // Finished calls per (thread, task, tool_call id): a raw ToolNode re-runs the
  // sibling calls of a step when an interrupt resumes; a finished call must not
  // run (or be decided) again. In memory: see the README for cross-process resumes.
  const ledger = new Map<string, LedgerEntry>();
  const note = (key: string | undefined, entry: LedgerEntry) => {
    if (!key) return;
    ledger.delete(key);
    ledger.set(key, entry);
    if (ledger.size > LEDGER_LIMIT) ledger.delete(ledger.keys().next().value as string);
  };

  return function gate(call: GatedCall): Promise<unknown> {
    const conf = call.configurable ?? {};
    const carrier = (conf[CARRIER_KEY] ?? {}) as RunCarrier;
    const agentName = carrier.agentName ?? options.agentName;
    // `configurable` is plain run config, and servers often fill it from the
    // client's request (thread_id...). A carrier naming another user than the
    // runWithUser scope the run was started in is refused, never trusted over
    // the scope (nor the scope over it): one of the two is not who the run acts for.
    const scoped = tryGetUser();
    if (carrier.user !== undefined && scoped !== undefined && !sameUser(carrier.user, scoped)) {
      const { decision, args } = enforcer.refuse(
        { tool: call.tool, args: call.args, user: scoped, ...(agentName ? { agentName } : {}) },
        'the user in configurable.hexgate is not the user in runWithUser scope',
      );
      recordDecision(decision, args ?? call.args);
      return Promise.resolve(call.refuse({ ok: false, error: decisionPayload(decision) }));
    }
    const key = ledgerKey(conf, call.tool, carrier.user ?? scoped, call.toolCallId);
    const done = key ? ledger.get(key)?.done : undefined;
    if (done) {
      // Re-consume the interrupts this call used so its siblings keep their resume values.
      for (let i = 0; i < done.interrupts; i++) interrupt(done.request);
      return done.result;
    }

    const { decision, args } = enforcer.decide({
      tool: call.tool,
      args: call.args,
      ...(agentName ? { agentName } : {}),
      ...(carrier.user ? { user: carrier.user } : {}),
    });
    // The carrier's user is bound for the tool's own getUser(); without a
    // carrier the scope the call came from already holds the user.
    const { user } = carrier;
    const runAsUser = (snapshot: FrozenArgs) =>
      user ? runWithUser(user, () => call.run(snapshot)) : call.run(snapshot);
    // Only ever called for calls the decision (or a human) lets run; the
    // interrupt above stays outside, so a GraphInterrupt is never a tool error.
    const execute = (snapshot: FrozenArgs, approval?: ApprovalInfo) =>
      traceToolCall(
        decision,
        snapshot,
        () => runAsUser(snapshot),
        approval ? { isError: isErrorMessage, approval } : TOOL_TRACE_OPTIONS,
      );
    // Recorded when it STARTS: a raw ToolNode may replay a sibling while it is still running.
    // A failed run is forgotten, so LangGraph retry policies can run it again.
    const track = (result: Promise<unknown>, interrupts = 0, request?: ApprovalInterrupt) => {
      if (!key) return result;
      note(key, { done: { result, interrupts, request } });
      result.catch(() => ledger.get(key)?.done?.result === result && ledger.delete(key));
      return result;
    };
    const refuse = (approval?: Refusal['approval']) => {
      recordDecision(decision, args ?? call.args, approval ? { approval } : {});
      return call.refuse({ ok: false, error: decisionPayload(decision), ...(approval ? { approval } : {}) });
    };

    if (decision.effective === 'allow' && args) return track(execute(args));
    if (decision.effective !== 'approval_required' || !args) return track(Promise.resolve(refuse()));

    if (approvalHandler) {
      // Traced once, with the answer: the pending state is never visible
      // anyway (an observation is exported when it ends).
      enforcer.reportApproval({ status: 'requested', decision, args });
      const answered = askApproval(
        approvalHandler,
        { decision, args, argsHash: hashArgs(args) },
        // The run's signal: a run cancelled while the handler thinks never runs the tool on a late yes.
        { timeoutMs: approvalTimeoutMs, ...(call.signal ? { signal: call.signal } : {}) },
      ).then(({ status, reason }) => {
        enforcer.reportApproval({ status, decision, args, reason });
        if (status === 'approved') return execute(args, { status });
        return refuse({ status, reason });
      });
      return track(answered);
    }

    const request = approvalInterrupt(decision, args, call.toolCallId);
    let used = 0;
    let answer: ReturnType<typeof readAnswer>;
    for (;;) {
      let value: unknown;
      try {
        value = interrupt(request);
      } catch (e) {
        if (isGraphInterrupt(e)) {
          if (!key || !ledger.get(key)?.requested) {
            enforcer.reportApproval({ status: 'requested', decision, args });
            recordDecision(decision, args, { approval: { status: 'requested' } });
          }
          note(key, { requested: true });
          throw e;
        }
        // No checkpointer, or not inside a graph run: fail loudly, never hang or skip the approval.
        // Traced as a pending approval that never ran; the run itself ends in ERROR with this error.
        recordDecision(decision, args);
        const error = new ApprovalUnavailableError(decision, e);
        carrier.fail?.(error);
        throw error;
      }
      used += 1;
      answer = readAnswer(value, request);
      // An answer bound to another call (e.g. one plain resume fanned out to
      // several pending approvals) does not approve this one: ask again.
      if (answer.fits) break;
    }
    enforcer.reportApproval({
      status: answer.approved ? 'approved' : 'rejected',
      decision,
      args,
      reason: answer.reason,
      ...(answer.approver ? { approver: answer.approver } : {}),
    });
    const outcome = answer.approved
      ? execute(args, { status: 'approved', ...(answer.approver ? { approver: answer.approver } : {}) })
      : Promise.resolve(refuse({ status: 'rejected', reason: answer.reason }));
    return track(outcome, used, request);
  };
}

/**
 * Replays happen only inside a LangGraph task, whose checkpoint_ns names the
 * task (`tools:<task id>`): outside one (a direct call that happens to carry a
 * thread_id) there is no replay to serve, and a call id the model repeats must
 * not get an earlier call's result. The tool and the user are part of the key
 * so a result is only ever handed back to the same tool for the same user
 * (a model can repeat call ids; another user can resume a thread).
 */
function ledgerKey(
  conf: Record<string, unknown>,
  tool: string,
  user: User | undefined,
  toolCallId: string | undefined,
): string | undefined {
  const thread = conf.thread_id;
  const ns = conf.checkpoint_ns;
  if (!toolCallId || typeof ns !== 'string' || ns === '') return undefined;
  if (typeof thread !== 'string' && typeof thread !== 'number') return undefined;
  return JSON.stringify([String(thread), ns, tool, user?.id ?? null, toolCallId]);
}

/** The same identity and the same grants (what a decision depends on). */
function sameUser(a: User, b: User): boolean {
  if (a === b) return true;
  const roles = (u: User) => (Array.isArray(u.roles) ? JSON.stringify(u.roles) : undefined);
  const attributes = (u: User) => {
    try {
      return u.attributes === undefined ? '' : canonicalJson(u.attributes);
    } catch {
      return undefined; // not comparable: not the same
    }
  };
  const attrs = attributes(a);
  return (
    a.id === b.id &&
    a.sessionId === b.sessionId &&
    roles(a) === roles(b) &&
    attrs !== undefined &&
    attrs === attributes(b)
  );
}

/** A refusal as the tool message the model reads; status 'error', as for a failed tool call. */
export function refusalMessage(refusal: Refusal, tool: string, toolCallId: string): ToolMessage {
  return new ToolMessage({ content: JSON.stringify(refusal), tool_call_id: toolCallId, name: tool, status: 'error' });
}

/** LangChain reports a tool failure handled by the tool itself as a ToolMessage with status 'error'. */
function isErrorMessage(result: unknown): boolean {
  return ToolMessage.isInstance(result) && result.status === 'error';
}

const TOOL_TRACE_OPTIONS = { isError: isErrorMessage } as const;

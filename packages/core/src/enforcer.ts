/**
 * The enforcer: decides each tool call against the policy for the user in
 * scope, reports every decision, and hands back the frozen argument snapshot
 * the tool must run with. `decide` is synchronous and never throws: any
 * error, missing user (with `requireUser`), bad arguments or missing policy is
 * a `deny`.
 */
import { randomUUID } from 'node:crypto';
import { type ApprovalHandler, askApproval } from './approval.ts';
import { type ArgsLimits, DEFAULT_ARGS_LIMITS, type FrozenArgs, snapshotArgs } from './args/snapshot-args.ts';
import { hashArgs } from './canonical-json.ts';
import { type Decision, decisionText, type EnforcementMode, type Outcome } from './decision.ts';
import { describeError, InvalidOptionsError, PolicyDeniedError } from './errors.ts';
import { type Explanation, explainCall } from './explain.ts';
import { isPolicy, type Policy } from './policy/policy.ts';
import { truncateString } from './redact.ts';
import { copyUser, tryGetUser, type User } from './user-scope.ts';

/** One tool call to decide. */
export interface ToolCall {
  readonly tool: string;
  /** An object, or the JSON string the host received (parsed once, strictly). */
  readonly args: unknown;
  /** Overrides the enforcer's `agentName` for this call. */
  readonly agentName?: string;
  /** Overrides the user in scope (e.g. an MCP server that resolved the caller itself). */
  readonly user?: User;
}

export interface Enforcement {
  readonly decision: Decision;
  /** The frozen snapshot the decision was made on; `undefined` when the arguments were rejected. */
  readonly args: FrozenArgs | undefined;
}

/** What listeners and recorders receive for every decision. */
export interface DecisionEvent {
  readonly decision: Decision;
  readonly args: FrozenArgs | undefined;
  readonly user: User | undefined;
}

export type ApprovalStatus = 'requested' | 'approved' | 'rejected' | 'expired';

export interface ApprovalEvent {
  readonly status: ApprovalStatus;
  readonly decision: Decision;
  /** sha256 of the canonical JSON of the arguments the approval is bound to. */
  readonly argsHash: string;
  /** Who approved or rejected, when known. */
  readonly approver?: string;
  readonly reason?: string;
  readonly timestamp: string;
}

/**
 * A synchronous recorder on the decision path (the audit trail). If it returns
 * a string, it could not take the record and the decision becomes a deny with
 * that reason, so no side effect runs unrecorded.
 */
export interface DecisionRecorder {
  recordDecision(event: DecisionEvent): string | undefined;
  recordApproval?(event: ApprovalEvent): void;
}

/** Supplies the policy in force; lets a hot-reloading source swap policies atomically. */
export interface PolicyProvider {
  /** The current policy, or the reason there is none usable (never loaded, stale, ...). */
  currentPolicy(): { readonly policy: Policy } | { readonly error: string };
}

export interface EnforcerOptions {
  readonly policy: Policy | PolicyProvider;
  readonly agentName?: string;
  /** `shadow` decides and reports but lets every call proceed (effective outcome `allow`). */
  readonly mode?: EnforcementMode;
  /** Deny when no user is in scope, instead of using the `default` role. */
  readonly requireUser?: boolean;
  readonly onDecision?: (event: DecisionEvent) => void;
  readonly onApproval?: (event: ApprovalEvent) => void;
  readonly recorder?: DecisionRecorder;
  readonly argsLimits?: Partial<ArgsLimits>;
}

export interface GuardOptions {
  readonly tool: string;
  readonly agentName?: string;
  /** Decides `approval_required` calls inline; without it they throw like a deny. */
  readonly approvalHandler?: ApprovalHandler;
  readonly approvalTimeoutMs?: number;
}

export interface Enforcer {
  readonly agentName: string | undefined;
  readonly mode: EnforcementMode;
  /** Decide one call. Synchronous; never throws. */
  decide(call: ToolCall): Enforcement;
  /**
   * What `decide` would return as `effective`, without reporting anything: no
   * Decision, no listener, no recorder. For hosts that must ask "will this
   * need approval?" before the real decision (it is made again, and reported,
   * when the call runs).
   */
  preview(call: ToolCall): Outcome;
  /** The evaluation trace for one call (which roles, which entry, each constraint's values). */
  explain(call: ToolCall): Explanation;
  /**
   * Whether some role of the user could ever be allowed this tool (allow or
   * approval, constraints aside). For hiding tools from a model or tools/list;
   * never a substitute for `decide`.
   */
  couldCall(tool: string, user?: User): boolean;
  /**
   * Deny a call for a reason the adapter found itself (a tool whose definition
   * changed, an approval bound to other arguments, ...). The decision goes
   * through the recorder and listeners like any other, so the audit trail and
   * traces see it.
   */
  refuse(call: ToolCall, reason: string): Enforcement;
  /** Report an approval event (requested / approved / rejected / expired) to listeners and the recorder. */
  reportApproval(event: Omit<ApprovalEvent, 'timestamp' | 'argsHash'> & { readonly args: unknown }): void;
  /**
   * Wraps any async function: the call is decided first; on deny it throws
   * `PolicyDeniedError` and `fn` never runs. `fn` receives the frozen snapshot.
   */
  guard<A extends Record<string, unknown>, R>(
    fn: (args: A) => R | Promise<R>,
    options: GuardOptions,
  ): (args: A | string) => Promise<R>;
  /** The policy in force, or undefined when none is usable. */
  currentPolicy(): Policy | undefined;
}

/**
 * Date#toISOString costs hundreds of ns; decisions made in the same
 * millisecond share one string.
 */
let lastMs = 0;
let lastIso = '';
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

const NO_ROLES: readonly string[] = Object.freeze([]);

/** Users bound with runWithUser already carry frozen role lists; copy only when needed. */
function frozenRoles(roles: readonly string[] | undefined): readonly string[] {
  if (!roles || roles.length === 0) return NO_ROLES;
  return Object.isFrozen(roles) ? roles : Object.freeze([...roles]);
}

const OUTCOMES: ReadonlySet<unknown> = new Set<Outcome>(['allow', 'deny', 'approval_required']);

/** The parts of a call `decide` uses, each read once; `problem` when the call itself is unusable. */
interface ReadCall {
  readonly tool: unknown;
  readonly args: unknown;
  readonly agentName: string | undefined;
  readonly user: User | undefined;
  readonly problem: string | undefined;
}

/**
 * Reads a call once, never throwing: a getter on the call cannot answer one
 * thing now and another later, and an explicit `user` is replaced by its
 * validated frozen copy (see `copyUser`).
 */
function readCall(call: ToolCall): ReadCall {
  let tool: unknown;
  let args: unknown;
  let agentName: unknown;
  let explicit: unknown;
  try {
    ({ tool, args, agentName, user: explicit } = call);
  } catch (e) {
    return {
      tool: undefined,
      args: undefined,
      agentName: undefined,
      user: undefined,
      problem: `the call could not be read: ${describeError(e)}`,
    };
  }
  const name = typeof agentName === 'string' ? agentName : undefined;
  if (explicit === undefined) return { tool, args, agentName: name, user: tryGetUser(), problem: undefined };
  const copy = copyUser(explicit);
  return copy.problem === undefined
    ? { tool, args, agentName: name, user: copy.user, problem: undefined }
    : { tool, args, agentName: name, user: undefined, problem: `invalid user: ${copy.problem}` };
}

/**
 * Tool names come from the model. No framework allows names anywhere near
 * this long, and an unbounded one would be copied into every record, trace
 * and reason: longer names are denied and recorded cut.
 */
const MAX_TOOL_NAME_LENGTH = 256;

/** A tool name for the Decision record, whatever the caller passed. */
function toolLabel(tool: unknown): string {
  if (typeof tool === 'string') return truncateString(tool, MAX_TOOL_NAME_LENGTH);
  try {
    return String(tool);
  } catch {
    return '<invalid tool name>';
  }
}

/** Limits must be positive safe integers; `undefined` keeps the default. Anything else would silently lift a limit. */
function checkLimits(given: Partial<ArgsLimits> | undefined): ArgsLimits {
  if (given === undefined) return DEFAULT_ARGS_LIMITS;
  if (typeof given !== 'object' || given === null)
    throw new InvalidOptionsError('createEnforcer: `argsLimits` must be an object');
  const limits: Record<string, number> = { ...DEFAULT_ARGS_LIMITS };
  for (const key of Object.keys(DEFAULT_ARGS_LIMITS) as (keyof ArgsLimits)[]) {
    const value = given[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new InvalidOptionsError(
        `createEnforcer: argsLimits.${key} must be a positive integer, got ${String(value)}`,
      );
    limits[key] = value;
  }
  // The copy is recursive: keep the stack safe whatever the caller asks for.
  if ((limits.maxDepth as number) > MAX_DEPTH_LIMIT)
    throw new InvalidOptionsError(`createEnforcer: argsLimits.maxDepth must be at most ${MAX_DEPTH_LIMIT}`);
  return limits as unknown as ArgsLimits;
}

const MAX_DEPTH_LIMIT = 1000;

/**
 * Listeners and recorders are called synchronously, but an `async` one
 * returns a promise: its rejection becomes a warning instead of an unhandled
 * rejection that would crash the host process.
 */
function warnOnRejection(result: unknown, what: string): void {
  if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') return;
  Promise.resolve(result).then(undefined, (e: unknown) =>
    process.emitWarning(`hexgate: ${what} failed asynchronously: ${describeError(e)}`),
  );
}

export function createEnforcer(options: EnforcerOptions): Enforcer {
  if (!options?.policy)
    throw new InvalidOptionsError('createEnforcer: `policy` is required (a loaded Policy or a PolicyProvider)');
  const mode: EnforcementMode = options.mode ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'shadow')
    throw new InvalidOptionsError(`createEnforcer: unknown mode '${String(mode)}'`);
  const limits = checkLimits(options.argsLimits);
  const source = options.policy;
  const fixed = isPolicy(source) ? ({ policy: source } as const) : undefined;
  const provider = fixed ? undefined : (source as PolicyProvider);
  if (!fixed && typeof provider?.currentPolicy !== 'function')
    throw new InvalidOptionsError('createEnforcer: `policy` must be a loaded Policy or a PolicyProvider');
  /**
   * The policy in force. A provider that throws, or answers anything but a
   * loaded Policy or an error, counts as having none (every call then denies).
   */
  const current = (): { readonly policy: Policy } | { readonly error: string } => {
    if (fixed) return fixed;
    try {
      const state = (provider as PolicyProvider).currentPolicy() as unknown;
      const answer = state as { policy?: unknown; error?: unknown } | null | undefined;
      if (typeof answer === 'object' && answer !== null) {
        // An answer carrying an error key is an error, even if it also carries a (stale) policy.
        if ('error' in answer) return { error: typeof answer.error === 'string' ? answer.error : 'unknown error' };
        if (isPolicy(answer.policy)) return { policy: answer.policy };
      }
      return { error: 'the policy provider returned no policy' };
    } catch (e) {
      return { error: `the policy provider failed: ${describeError(e)}` };
    }
  };
  const { onDecision, onApproval, recorder, requireUser } = options;

  const notify = <E>(listener: ((e: E) => void) | undefined, event: E) => {
    if (!listener) return;
    try {
      warnOnRejection(listener(event), 'a decision listener');
    } catch (e) {
      // A listener must never change or break a decision.
      process.emitWarning(`hexgate: a decision listener threw: ${describeError(e)}`);
    }
  };

  /** The policy's verdict for a call, with no side effect (nothing reported, no Decision built). */
  const evaluate = (call: ReadCall) => {
    let outcome: Outcome = 'deny';
    let reason: string;
    let violations: readonly string[] = [];
    let decidingRole: string | undefined;
    let digest = '';
    let args: FrozenArgs | undefined;
    const { tool, user } = call;
    try {
      const state = current();
      if ('error' in state) {
        reason = `no usable policy: ${state.error}`;
      } else if (call.problem !== undefined) {
        digest = state.policy.digest;
        reason = call.problem;
      } else if (typeof tool !== 'string' || tool.length === 0) {
        digest = state.policy.digest;
        reason = 'invalid tool name';
      } else if (tool.length > MAX_TOOL_NAME_LENGTH) {
        digest = state.policy.digest;
        reason = `tool name longer than ${MAX_TOOL_NAME_LENGTH} characters`;
      } else if (requireUser && !user) {
        digest = state.policy.digest;
        reason = 'no user in scope and the enforcer requires one';
      } else {
        digest = state.policy.digest;
        const snap = snapshotArgs(call.args, limits);
        if (!snap.ok) {
          reason = snap.reason;
        } else {
          args = snap.args;
          const verdict = state.policy.evaluate(tool, args, user);
          // Only the three outcomes exist; anything else from a policy is a deny.
          if (OUTCOMES.has(verdict.outcome)) {
            outcome = verdict.outcome;
            reason = verdict.reason;
            violations = verdict.violations;
            decidingRole = verdict.role;
          } else {
            reason = 'the policy returned an unknown outcome';
          }
        }
      }
    } catch (e) {
      outcome = 'deny';
      reason = `policy evaluation failed: ${describeError(e)}`;
    }
    return { outcome, reason, violations, decidingRole, digest, args };
  };

  const decide = (toolCall: ToolCall): Enforcement => {
    const started = performance.now();
    const call = readCall(toolCall);
    const { outcome, reason, violations, decidingRole, digest, args } = evaluate(call);
    // Invalid arguments deny even in shadow mode: there is no snapshot to run with.
    const effective: Outcome = mode === 'shadow' && args !== undefined ? 'allow' : outcome;
    return finish({
      call,
      outcome,
      effective,
      reason,
      violations,
      decidingRole,
      digest,
      args,
      started,
    });
  };

  /** Builds the frozen Decision, passes it through the recorder and listeners. */
  const finish = (d: {
    call: ReadCall;
    outcome: Outcome;
    effective: Outcome;
    reason: string;
    violations: readonly string[];
    decidingRole: string | undefined;
    digest: string;
    args: FrozenArgs | undefined;
    started: number;
  }): Enforcement => {
    const { args } = d;
    const { user } = d.call;
    let decision: Decision = Object.freeze({
      id: randomUUID(),
      timestamp: isoNow(),
      outcome: d.outcome,
      effective: d.effective,
      mode,
      tool: toolLabel(d.call.tool),
      agentName: d.call.agentName ?? options.agentName,
      userId: user?.id,
      sessionId: user?.sessionId,
      roles: frozenRoles(user?.roles),
      decidingRole: d.decidingRole,
      reason: d.reason,
      violations: Object.isFrozen(d.violations) ? d.violations : Object.freeze([...d.violations]),
      policyDigest: d.digest,
      evaluationMs: performance.now() - d.started,
    });
    if (recorder) {
      let refusal: string | undefined;
      let answer: unknown;
      try {
        answer = recorder.recordDecision({ decision, args, user });
        warnOnRejection(answer, 'the recorder');
        // Anything but undefined is a refusal; a reason must be text the model-facing forms can render.
        if (answer !== undefined)
          refusal =
            typeof answer === 'string' && answer.trim() !== ''
              ? answer
              : 'audit unavailable: the recorder refused the record';
      } catch (e) {
        refusal = `audit unavailable: ${describeError(e)}`;
      }
      if (refusal !== undefined && decision.effective !== 'deny') {
        decision = Object.freeze({
          ...decision,
          outcome: 'deny',
          effective: 'deny',
          reason: refusal,
          decidingRole: undefined,
        });
      }
    }
    notify(onDecision, { decision, args, user });
    return { decision, args };
  };

  const refuse = (toolCall: ToolCall, reason: string): Enforcement => {
    const started = performance.now();
    const call = readCall(toolCall);
    const state = current();
    let args: FrozenArgs | undefined;
    try {
      const snap = snapshotArgs(call.args, limits);
      if (snap.ok) args = snap.args;
    } catch {
      // A deny needs no snapshot.
    }
    return finish({
      call,
      outcome: 'deny',
      effective: 'deny',
      reason: typeof reason === 'string' && reason !== '' ? reason : 'refused by the adapter',
      violations: [],
      decidingRole: undefined,
      digest: 'error' in state ? '' : state.policy.digest,
      args,
      started,
    });
  };

  const enforcer: Enforcer = {
    agentName: options.agentName,
    mode,
    decide,
    preview(call) {
      const { outcome, args } = evaluate(readCall(call));
      return mode === 'shadow' && args !== undefined ? 'allow' : outcome;
    },
    refuse,
    explain(toolCall) {
      const state = current();
      const call = readCall(toolCall);
      if (call.problem !== undefined) return explainCall(undefined, toolCall, undefined, limits, call.problem);
      return explainCall('error' in state ? undefined : state.policy, toolCall, call.user, limits);
    },
    couldCall(tool, user) {
      const state = current();
      if ('error' in state || typeof tool !== 'string') return false;
      let u: User | undefined;
      if (user === undefined) u = tryGetUser();
      else {
        const copy = copyUser(user);
        if (copy.problem !== undefined) return false;
        u = copy.user;
      }
      if (requireUser && !u) return false;
      return state.policy
        .effectiveRoles(u?.roles)
        .some((role: string) => state.policy.entryFor(role, tool).mode !== 'deny');
    },
    reportApproval(input) {
      if (typeof input !== 'object' || input === null) return;
      const { args, ...rest } = input;
      let argsHash: string;
      try {
        argsHash = hashArgs(args);
      } catch {
        argsHash = 'unhashable';
      }
      const event: ApprovalEvent = Object.freeze({ ...rest, argsHash, timestamp: isoNow() });
      try {
        warnOnRejection(recorder?.recordApproval?.(event), 'the recorder');
      } catch (e) {
        process.emitWarning(`hexgate: recording an approval failed: ${describeError(e)}`);
      }
      notify(onApproval, event);
    },
    guard(fn, guardOptions) {
      if (!guardOptions || typeof guardOptions.tool !== 'string')
        throw new InvalidOptionsError('guard(fn, { tool }) needs a tool name');
      return async (input) => {
        const { decision, args } = decide({
          tool: guardOptions.tool,
          args: input,
          ...(guardOptions.agentName ? { agentName: guardOptions.agentName } : {}),
        });
        if (decision.effective === 'allow' && args) return fn(args as never);
        if (decision.effective === 'approval_required' && args && guardOptions.approvalHandler) {
          const argsHash = hashArgs(args);
          enforcer.reportApproval({ status: 'requested', decision, args });
          const answer = await askApproval(
            guardOptions.approvalHandler,
            { decision, args, argsHash },
            { timeoutMs: guardOptions.approvalTimeoutMs },
          );
          enforcer.reportApproval({ status: answer.status, decision, args, reason: answer.reason });
          if (answer.approved) return fn(args as never);
        }
        throw new PolicyDeniedError(decision, decisionText(decision));
      };
    },
    currentPolicy() {
      const state = current();
      return 'error' in state ? undefined : state.policy;
    },
  };
  return Object.freeze(enforcer);
}

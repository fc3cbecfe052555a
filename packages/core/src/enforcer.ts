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
import { InvalidOptionsError, PolicyDeniedError } from './errors.ts';
import { type Explanation, explainCall } from './explain.ts';
import type { Policy } from './policy/policy.ts';
import { tryGetUser, type User, userProblem } from './user-scope.ts';

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

function isPolicy(p: Policy | PolicyProvider): p is Policy {
  return typeof (p as Policy).evaluate === 'function';
}

export function createEnforcer(options: EnforcerOptions): Enforcer {
  if (!options?.policy)
    throw new InvalidOptionsError('createEnforcer: `policy` is required (a loaded Policy or a PolicyProvider)');
  const mode: EnforcementMode = options.mode ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'shadow')
    throw new InvalidOptionsError(`createEnforcer: unknown mode '${String(mode)}'`);
  const limits: ArgsLimits = { ...DEFAULT_ARGS_LIMITS, ...options.argsLimits };
  const source = options.policy;
  const fixed = isPolicy(source) ? ({ policy: source } as const) : undefined;
  const provider = fixed ? undefined : (source as PolicyProvider);
  /** The policy in force; a provider that throws counts as having none (every call then denies). */
  const current = (): { readonly policy: Policy } | { readonly error: string } => {
    if (fixed) return fixed;
    try {
      return provider?.currentPolicy() ?? { error: 'no policy' };
    } catch (e) {
      return { error: `the policy provider failed: ${(e as Error)?.message ?? String(e)}` };
    }
  };
  const { onDecision, onApproval, recorder, requireUser } = options;

  const notify = <E>(listener: ((e: E) => void) | undefined, event: E) => {
    if (!listener) return;
    try {
      listener(event);
    } catch (e) {
      // A listener must never change or break a decision.
      process.emitWarning(`hexgate: a decision listener threw: ${(e as Error)?.message ?? e}`);
    }
  };

  /** The policy's verdict for a call, with no side effect (nothing reported, no Decision built). */
  const evaluate = (call: ToolCall, user: User | undefined) => {
    let outcome: Outcome = 'deny';
    let reason: string;
    let violations: readonly string[] = [];
    let decidingRole: string | undefined;
    let digest = '';
    let args: FrozenArgs | undefined;
    const tool = call?.tool;
    const badUser = call?.user === undefined ? undefined : userProblem(call.user);
    try {
      const state = current();
      if ('error' in state) {
        reason = `no usable policy: ${state.error}`;
      } else if (typeof tool !== 'string' || tool.length === 0) {
        digest = state.policy.digest;
        reason = 'invalid tool name';
      } else if (requireUser && !user) {
        digest = state.policy.digest;
        reason = 'no user in scope and the enforcer requires one';
      } else if (badUser !== undefined) {
        digest = state.policy.digest;
        reason = `invalid user: ${badUser}`;
      } else {
        digest = state.policy.digest;
        const snap = snapshotArgs(call.args, limits);
        if (!snap.ok) {
          reason = snap.reason;
        } else {
          args = snap.args;
          const verdict = state.policy.evaluate(tool, args, user);
          outcome = verdict.outcome;
          reason = verdict.reason;
          violations = verdict.violations;
          decidingRole = verdict.role;
        }
      }
    } catch (e) {
      outcome = 'deny';
      reason = `policy evaluation failed: ${(e as Error)?.message ?? String(e)}`;
    }
    return { outcome, reason, violations, decidingRole, digest, args };
  };

  const decide = (call: ToolCall): Enforcement => {
    const started = performance.now();
    const user = call?.user ?? tryGetUser();
    const { outcome, reason, violations, decidingRole, digest, args } = evaluate(call, user);
    // Invalid arguments deny even in shadow mode: there is no snapshot to run with.
    const effective: Outcome = mode === 'shadow' && args !== undefined ? 'allow' : outcome;
    return finish({
      call,
      user,
      agentName: call?.agentName ?? options.agentName,
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
    call: ToolCall;
    user: User | undefined;
    agentName: string | undefined;
    outcome: Outcome;
    effective: Outcome;
    reason: string;
    violations: readonly string[];
    decidingRole: string | undefined;
    digest: string;
    args: FrozenArgs | undefined;
    started: number;
  }): Enforcement => {
    const { user, args } = d;
    const tool = d.call?.tool;
    let decision: Decision = Object.freeze({
      id: randomUUID(),
      timestamp: isoNow(),
      outcome: d.outcome,
      effective: d.effective,
      mode,
      tool: typeof tool === 'string' ? tool : String(tool),
      agentName: d.agentName,
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
      try {
        refusal = recorder.recordDecision({ decision, args, user });
      } catch (e) {
        refusal = `audit unavailable: ${(e as Error)?.message ?? e}`;
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

  const refuse = (call: ToolCall, reason: string): Enforcement => {
    const started = performance.now();
    const user = call?.user ?? tryGetUser();
    const state = current();
    const snap = snapshotArgs(call?.args, limits);
    return finish({
      call,
      user,
      agentName: call?.agentName ?? options.agentName,
      outcome: 'deny',
      effective: 'deny',
      reason,
      violations: [],
      decidingRole: undefined,
      digest: 'error' in state ? '' : state.policy.digest,
      args: snap.ok ? snap.args : undefined,
      started,
    });
  };

  const enforcer: Enforcer = {
    agentName: options.agentName,
    mode,
    decide,
    preview(call) {
      const { outcome, args } = evaluate(call, call?.user ?? tryGetUser());
      return mode === 'shadow' && args !== undefined ? 'allow' : outcome;
    },
    refuse,
    explain(call) {
      const state = current();
      const badUser = call?.user === undefined ? undefined : userProblem(call.user);
      if (badUser !== undefined) return explainCall(undefined, call, undefined, limits, `invalid user: ${badUser}`);
      return explainCall('error' in state ? undefined : state.policy, call, call.user ?? tryGetUser(), limits);
    },
    couldCall(tool, user) {
      const state = current();
      if ('error' in state) return false;
      const u = user ?? tryGetUser();
      if (requireUser && !u) return false;
      return state.policy
        .effectiveRoles(u?.roles)
        .some((role: string) => state.policy.entryFor(role, tool).mode !== 'deny');
    },
    reportApproval(input) {
      const { args, ...rest } = input;
      let argsHash: string;
      try {
        argsHash = hashArgs(args);
      } catch {
        argsHash = 'unhashable';
      }
      const event: ApprovalEvent = Object.freeze({ ...rest, argsHash, timestamp: isoNow() });
      try {
        recorder?.recordApproval?.(event);
      } catch (e) {
        process.emitWarning(`hexgate: recording an approval failed: ${(e as Error)?.message ?? e}`);
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

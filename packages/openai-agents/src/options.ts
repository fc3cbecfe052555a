/**
 * The options every entry point shares, and the `Gate` they resolve to: one
 * enforcer, the adapter's choices, and the book of pending approvals. A gated
 * agent graph and the runner that resumes it must share one `Gate`, so the
 * approvals requested in one run are found again when the run resumes.
 */
import {
  type ApprovalHandler,
  createEnforcer,
  type Decision,
  decisionText,
  type Enforcer,
  type EnforcerOptions,
  InvalidOptionsError,
  tryGetUser,
  type User,
} from '@hexgate/core';
import type { HandoffInputData } from '@openai/agents';
import { ApprovalBook } from './approvals.ts';

/** Not exported by the SDK under this name (it is `RunConfig['handoffInputFilter']`). */
type HandoffInputFilter = (input: HandoffInputData) => HandoffInputData;

/** How the adapter behaves, whatever the enforcer. */
export interface GateOptions {
  /**
   * Decides `approval_required` calls inline (only a literal `true` approves;
   * a throw or a timeout rejects) instead of pausing the run with an SDK
   * interruption. Handoffs, which the SDK cannot pause, always use it.
   */
  readonly approvalHandler?: ApprovalHandler;
  /** Timeout for `approvalHandler`, in ms (core's default: 5 minutes). */
  readonly approvalTimeoutMs?: number;
  /** The text the model receives instead of a blocked call's result (default: core's `decisionText`). */
  readonly formatDecision?: (decision: Decision) => string;
  /**
   * The Runner-level `handoffInputFilter`, if you use one. Gated handoffs carry
   * their own input filter (it delivers the denial text), which would hide the
   * Runner's; `HexgateRunner` passes its own config here for you.
   */
  readonly handoffInputFilter?: HandoffInputFilter;
}

/** Where decisions come from: an enforcer you built, or a policy to build one from. */
export type EnforcerSource =
  | { readonly enforcer: Enforcer; readonly policy?: undefined }
  | ({ readonly policy: EnforcerOptions['policy']; readonly enforcer?: undefined } & Omit<EnforcerOptions, 'policy'>);

export type HexgateOptions = EnforcerSource & GateOptions;

export interface Gate {
  readonly enforcer: Enforcer;
  readonly options: GateOptions;
  readonly book: ApprovalBook;
}

/** Builds the gate; throws `InvalidOptionsError` for missing, conflicting or mistyped options (never later, at call time). */
export function createGate(options: HexgateOptions): Gate {
  if (!options || typeof options !== 'object') throw new InvalidOptionsError('hexgate: options are required');
  const {
    enforcer,
    policy,
    approvalHandler,
    approvalTimeoutMs,
    formatDecision,
    handoffInputFilter,
    ...enforcerOptions
  } = options as HexgateOptions & Partial<EnforcerOptions>;
  if (enforcer && policy) throw new InvalidOptionsError('hexgate: pass either `policy` or `enforcer`, not both');
  const misplaced = Object.entries(enforcerOptions).flatMap(([key, value]) => (value === undefined ? [] : [key]));
  if (enforcer && misplaced.length > 0)
    throw new InvalidOptionsError(
      `hexgate: ${misplaced.join(', ')} configure an enforcer; set them where you create yours`,
    );
  const gateOptions: GateOptions = { approvalHandler, approvalTimeoutMs, formatDecision, handoffInputFilter };
  checkGateOptions(gateOptions);
  const resolved = enforcer ?? (policy ? createEnforcer({ ...enforcerOptions, policy }) : undefined);
  if (!resolved || typeof resolved.decide !== 'function')
    throw new InvalidOptionsError('hexgate: `policy` (a loaded Policy) or `enforcer` is required');
  return Object.freeze({ enforcer: resolved, options: Object.freeze(gateOptions), book: new ApprovalBook() });
}

/** A wrong type here would otherwise surface only at call time, as a rejected approval or the default text. */
function checkGateOptions(options: GateOptions): void {
  for (const name of ['approvalHandler', 'formatDecision', 'handoffInputFilter'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      throw new InvalidOptionsError(`hexgate: \`${name}\` must be a function`);
  }
  const timeout = options.approvalTimeoutMs;
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0))
    throw new InvalidOptionsError(
      `hexgate: \`approvalTimeoutMs\` must be a positive number of ms, got ${String(timeout)}`,
    );
}

/**
 * The user a call is decided for: the one bound with `runWithUser` (what
 * `HexgateRunner` does around every run), else a `user` carried in the SDK's
 * run context (`run(agent, input, { context: { user } })`), which also survives
 * `RunState` serialisation.
 */
export function resolveUser(runContext: { readonly context?: unknown } | undefined): User | undefined {
  return tryGetUser() ?? carriedUser(runContext);
}

/** The `user` carried in the run context (set by `HexgateRunner` when the app passes no context). */
export function carriedUser(runContext: { readonly context?: unknown } | undefined): User | undefined {
  const carried = (runContext?.context as { user?: unknown } | undefined)?.user as User | undefined;
  return carried && typeof carried === 'object' && typeof carried.id === 'string' ? carried : undefined;
}

/** The model-facing text for a blocked call; a broken formatter falls back to core's text. */
export function textFor(gate: Gate, decision: Decision): string {
  const format = gate.options.formatDecision;
  if (format) {
    try {
      const text = format(decision);
      if (typeof text === 'string') return text;
    } catch {
      // A formatter must never turn a denial into a crash; the default text is always safe.
    }
  }
  return decisionText(decision);
}

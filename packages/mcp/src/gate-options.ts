/**
 * Options shared by the middleware and the proxy, and the one place that
 * checks them and turns them into a `GateContext` (an `Enforcer` and the
 * approval settings). Accepting a ready-made `Enforcer` lets one enforcer
 * (one recorder, one audit trail) serve several servers.
 */
import {
  type ApprovalHandler,
  createEnforcer,
  type DecisionEvent,
  type DecisionRecorder,
  type EnforcementMode,
  type Enforcer,
  type EnforcerOptions,
  InvalidOptionsError,
  type Policy,
  type PolicyProvider,
} from '@hexgate/core';
import type { GateContext } from './decide-call.ts';

export interface GateOptions {
  /** A loaded policy or policy provider (an enforcer is created for it), or your own `Enforcer`. */
  readonly policy: Policy | PolicyProvider | Enforcer;
  /** Reported as the decision's agent name. Defaults to a ready-made enforcer's own, else the MCP server's name. */
  readonly agentName?: string;
  /**
   * Decides `approval_required` calls out of band (an approver the server
   * trusts: a ticket queue, a chat bot, an operator console). Only a literal
   * `true` approves; a throw, any other value or the timeout rejects. Without
   * it such calls return the `[approval_required]` result.
   */
  readonly approvalHandler?: ApprovalHandler;
  /** Defaults to core's `DEFAULT_APPROVAL_TIMEOUT_MS` (5 minutes). */
  readonly approvalTimeoutMs?: number;
  // The options below configure the enforcer created for `policy`; with a
  // ready-made `Enforcer` set them on `createEnforcer` instead.
  /** Deny callers whose identity could not be resolved, instead of giving them the `default` role. */
  readonly requireUser?: boolean;
  readonly mode?: EnforcementMode;
  readonly onDecision?: (event: DecisionEvent) => void;
  readonly onApproval?: EnforcerOptions['onApproval'];
  readonly recorder?: DecisionRecorder;
}

const ENFORCER_ONLY = ['requireUser', 'mode', 'onDecision', 'onApproval', 'recorder'] as const;

function isEnforcer(value: unknown): value is Enforcer {
  const v = value as Partial<Enforcer> | undefined;
  return typeof v?.decide === 'function' && typeof v.couldCall === 'function' && typeof v.reportApproval === 'function';
}

/**
 * Checks the options (before anything is gated or launched) and builds what
 * `decideCall` needs. `serverName` is read per call: it is the default agent
 * name, and the proxy only learns it from the server's `initialize` answer.
 */
export function gateContext(options: GateOptions, caller: string, serverName: () => string | undefined): GateContext {
  const enforcer = enforcerFrom(options, caller);
  const { agentName, approvalHandler, approvalTimeoutMs } = options;
  if (agentName !== undefined && (typeof agentName !== 'string' || agentName === '')) {
    throw new InvalidOptionsError(`${caller}: \`agentName\` must be a non-empty string`);
  }
  if (approvalHandler !== undefined && typeof approvalHandler !== 'function') {
    throw new InvalidOptionsError(
      `${caller}: \`approvalHandler\` must be a function ({ decision, args, argsHash }) => true`,
    );
  }
  if (approvalTimeoutMs !== undefined && !(Number.isFinite(approvalTimeoutMs) && approvalTimeoutMs > 0)) {
    throw new InvalidOptionsError(`${caller}: \`approvalTimeoutMs\` must be a positive number of milliseconds`);
  }
  // The configured name, else the one a ready-made enforcer carries, else the server's.
  const fixedName = agentName ?? enforcer.agentName;
  return {
    enforcer,
    agentName: fixedName !== undefined ? () => fixedName : serverName,
    approvalHandler,
    approvalTimeoutMs,
  };
}

function enforcerFrom(options: GateOptions, caller: string): Enforcer {
  if (!options?.policy) throw new InvalidOptionsError(`${caller}: \`policy\` is required`);
  if (isEnforcer(options.policy)) {
    const clash = ENFORCER_ONLY.filter((key) => options[key] !== undefined);
    if (clash.length > 0) {
      throw new InvalidOptionsError(
        `${caller}: ${clash.join(', ')} configure the enforcer; pass them to createEnforcer() when you give an Enforcer`,
      );
    }
    return options.policy;
  }
  return createEnforcer({
    policy: options.policy,
    ...(options.agentName !== undefined ? { agentName: options.agentName } : {}),
    ...(options.requireUser !== undefined ? { requireUser: options.requireUser } : {}),
    ...(options.mode !== undefined ? { mode: options.mode } : {}),
    ...(options.onDecision ? { onDecision: options.onDecision } : {}),
    ...(options.onApproval ? { onApproval: options.onApproval } : {}),
    ...(options.recorder ? { recorder: options.recorder } : {}),
  });
}

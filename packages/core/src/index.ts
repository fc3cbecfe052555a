/**
 * @hexgate/core public API. Anything exported here is public and versioned;
 * everything else is internal. Adapters import only from this entry point.
 */

export {
  type ApprovalAnswer,
  type ApprovalHandler,
  type ApprovalRequest,
  type AskApprovalOptions,
  askApproval,
  DEFAULT_APPROVAL_TIMEOUT_MS,
} from './approval.ts';
export { type ArgsLimits, DEFAULT_ARGS_LIMITS, type FrozenArgs } from './args/snapshot-args.ts';
export { canonicalJson, hashArgs, sha256Hex } from './canonical-json.ts';
export type { CompareOp, Expr as ConstraintAst, PathNode, Value as ConstraintValue } from './constraints/ast.ts';
export {
  type Decision,
  type DecisionPayload,
  decisionPayload,
  decisionText,
  type EnforcementMode,
  type Outcome,
} from './decision.ts';
export {
  type DescribedConstraint,
  type DescribedEntry,
  type DescribedRole,
  describePolicy,
  type PolicyDescription,
} from './describe-policy.ts';
export {
  type ApprovalEvent,
  type ApprovalStatus,
  createEnforcer,
  type DecisionEvent,
  type DecisionRecorder,
  type Enforcement,
  type Enforcer,
  type EnforcerOptions,
  type GuardOptions,
  type PolicyProvider,
  type ToolCall,
} from './enforcer.ts';
export {
  formatIssue,
  HexgateError,
  type HexgateErrorCode,
  InvalidOptionsError,
  MissingUserError,
  PolicyDeniedError,
  type PolicyIssue,
  PolicyLoadError,
} from './errors.ts';
export type { ConstraintTrace, Explanation, OperandTrace, RoleTrace, TriState } from './explain.ts';
export {
  buildPolicy,
  buildPolicyFromFiles,
  loadPolicy,
  loadPolicySync,
  type PolicyFiles,
  type PolicyFileText,
  parsePolicy,
  readPolicyFiles,
} from './policy/load-policy.ts';
export type { Policy, SourceLocation } from './policy/policy.ts';
export { didYouMean } from './policy/suggest.ts';
export { DEFAULT_REDACT_OPTIONS, isSecretKey, type RedactOptions, redact, redactWithOrder } from './redact.ts';
export { getUser, runWithoutUser, runWithUser, tryGetUser, type User } from './user-scope.ts';

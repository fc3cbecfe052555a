/**
 * One error family for hexgate. `code` is a stable string; `isInstance`
 * checks a `Symbol.for` brand, so it works even when two copies of
 * @hexgate/core are loaded (where `instanceof` would not).
 */
const BRAND = Symbol.for('@hexgate/core.error');

export type HexgateErrorCode =
  | 'POLICY_LOAD'
  | 'NO_USER_SCOPE'
  | 'POLICY_DENIED'
  | 'APPROVAL_REQUIRED'
  | 'INVALID_OPTIONS';

export class HexgateError extends Error {
  readonly code: HexgateErrorCode;
  readonly [BRAND] = true;

  constructor(code: HexgateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  static isInstance(value: unknown): value is HexgateError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

/** One problem found while loading a policy, pointing at the source. */
export interface PolicyIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  /** A suggestion such as "did you mean 'constraints'?" */
  readonly hint?: string;
}

export function formatIssue(issue: PolicyIssue): string {
  const hint = issue.hint ? ` (${issue.hint})` : '';
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}${hint}`;
}

/** A policy could not be loaded. `issues` lists every problem, not only the first. */
export class PolicyLoadError extends HexgateError {
  readonly issues: readonly PolicyIssue[];

  constructor(issues: readonly PolicyIssue[]) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('POLICY_LOAD', first ? `${formatIssue(first)}${more}` : 'invalid policy');
    this.issues = issues;
  }

  static override isInstance(value: unknown): value is PolicyLoadError {
    return HexgateError.isInstance(value) && value.code === 'POLICY_LOAD';
  }
}

/** `getUser()` was called outside `runWithUser`, or `requireUser` found no user. */
export class MissingUserError extends HexgateError {
  constructor(message = 'no user in scope: wrap the request in runWithUser(user, fn)') {
    super('NO_USER_SCOPE', message);
  }
}

/**
 * Thrown only where the host has no way to return a denial as data
 * (for example `enforcer.guard(fn)` around a plain function). Adapters
 * return the decision to the model instead of throwing.
 */
export class PolicyDeniedError extends HexgateError {
  readonly decision: import('./decision.ts').Decision;

  constructor(decision: import('./decision.ts').Decision, message: string) {
    super(decision.outcome === 'approval_required' ? 'APPROVAL_REQUIRED' : 'POLICY_DENIED', message);
    this.decision = decision;
  }
}

export class InvalidOptionsError extends HexgateError {
  constructor(message: string) {
    super('INVALID_OPTIONS', message);
  }
}

/**
 * A one-line description of anything thrown, for deny reasons and warnings.
 * Never throws itself: a thrown Symbol, an `Object.create(null)` or an error
 * whose `message` getter throws must not turn a deny into a crash.
 */
export function describeError(e: unknown): string {
  try {
    const message = (e as { message?: unknown } | null | undefined)?.message;
    if (typeof message === 'string') return message;
    return String(e);
  } catch {
    return 'an error that cannot be printed';
  }
}

/**
 * Why a refresh failed, as an Error (for `ready()` rejections and events)
 * and as plain data (for `status()`, e.g. a health endpoint).
 */
import type { PolicyIssue } from '@hexgate/core';
import type { BundleProblem } from './problems.ts';

export type PolicySourceErrorCode =
  /** The file, directory or bundle could not be read. */
  | 'read'
  /** The HTTP request failed (connection refused, timeout, DNS, ...). */
  | 'network'
  /** The server answered with a status other than 200 / 304, or an oversized body. */
  | 'http-status'
  /** The YAML does not parse or does not validate (see `issues`). */
  | 'policy-invalid'
  /** The bundle failed verification (see `problems`). */
  | 'bundle-invalid'
  /** The bundle is older than the one in force, the same revision with other content, or another policy id. */
  | 'rollback'
  /** The files kept changing while being read (a write in progress). */
  | 'unstable'
  /** The revision state file could not be read or written. */
  | 'state-file';

export class PolicySourceError extends Error {
  readonly code: PolicySourceErrorCode;
  readonly problems: readonly BundleProblem[];
  readonly issues: readonly PolicyIssue[];

  constructor(
    code: PolicySourceErrorCode,
    message: string,
    extra: { problems?: readonly BundleProblem[]; issues?: readonly PolicyIssue[]; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'PolicySourceError';
    this.code = code;
    this.problems = extra.problems ?? [];
    this.issues = extra.issues ?? extra.problems?.flatMap((p) => p.issues ?? []) ?? [];
  }
}

/** `status().lastError`: the failure as JSON-friendly data. */
export interface PolicySourceFailure {
  readonly code: PolicySourceErrorCode;
  readonly message: string;
  /** ISO 8601 time of the failed attempt. */
  readonly at: string;
  readonly problems: readonly BundleProblem[];
  readonly issues: readonly PolicyIssue[];
}

/** Turns bundle problems into a source error with the most telling code. */
export function bundleFailure(location: string, problems: readonly BundleProblem[]): PolicySourceError {
  const codes = new Set(problems.map((p) => p.code));
  const code =
    codes.has('rollback') || codes.has('policy-id-mismatch')
      ? 'rollback'
      : codes.size === 1 && codes.has('policy-invalid')
        ? 'policy-invalid'
        : 'bundle-invalid';
  const first = problems[0]?.message ?? 'invalid bundle';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new PolicySourceError(code, `${location}: ${first}${more}`, { problems });
}

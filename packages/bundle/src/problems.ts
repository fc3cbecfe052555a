/**
 * What can be wrong with a bundle, as data. `verifyBundle` returns these;
 * loaders throw them wrapped in `BundleVerificationError` (a core
 * `PolicyLoadError`, so existing `PolicyLoadError.isInstance` checks keep
 * working for bundle failures too).
 */
import { type PolicyIssue, PolicyLoadError } from '@hexgate/core';

export type BundleProblemCode =
  /** manifest.json is missing or unreadable. */
  | 'manifest-missing'
  /** manifest.json is not a valid v1 manifest. */
  | 'manifest-invalid'
  /** No signature, but a trusted key is configured or signatures are required. */
  | 'unsigned'
  /** The signature does not verify with any trusted key. */
  | 'bad-signature'
  /** The signature file is not a base64 Ed25519 signature. */
  | 'signature-invalid'
  /** The manifest names a key id that does not belong to the key that verified it. */
  | 'key-mismatch'
  /** A file listed in the manifest is absent. */
  | 'file-missing'
  /** A file's sha256 or size differs from the manifest. */
  | 'file-hash-mismatch'
  /** A file in the bundle is not listed in the manifest. */
  | 'file-unlisted'
  /** A path in the manifest (or an entry on disk) is not allowed: `..`, absolute, symlink, ... */
  | 'unsafe-path'
  /** `expiresAt` is in the past. */
  | 'expired'
  /** The policy files do not build into a valid policy (`issues` has the details). */
  | 'policy-invalid'
  /** The bundle is older than the one in force, or the same revision with different content. */
  | 'rollback'
  /** The bundle is for another policy id than the one expected or in force. */
  | 'policy-id-mismatch'
  /** The served document (HTTP) is not a valid bundle document. */
  | 'document-invalid'
  /** A file would take the bundle over `maxBytes`; it was not read. */
  | 'too-large';

export interface BundleProblem {
  readonly code: BundleProblemCode;
  readonly message: string;
  /** The bundle-relative file concerned, when there is one. */
  readonly file?: string;
  /** Policy issues with positions, for `policy-invalid`. */
  readonly issues?: readonly PolicyIssue[];
}

/** A bundle was refused. `problems` says exactly why (every problem found, not only the first). */
export class BundleVerificationError extends PolicyLoadError {
  readonly problems: readonly BundleProblem[];
  /** Where the bundle came from (directory or URL). */
  readonly location: string;

  constructor(location: string, problems: readonly BundleProblem[]) {
    super(problems.flatMap((p) => toIssues(location, p)));
    this.problems = problems;
    this.location = location;
  }
}

function toIssues(location: string, p: BundleProblem): PolicyIssue[] {
  if (p.issues && p.issues.length > 0) return [...p.issues];
  return [
    { file: p.file ? `${location}/${p.file}` : location, line: 1, column: 1, message: `${p.code}: ${p.message}` },
  ];
}

export function problem(code: BundleProblemCode, message: string, extra: Omit<BundleProblem, 'code' | 'message'> = {}) {
  return { code, message, ...extra } satisfies BundleProblem;
}

/**
 * One-shot checks of a bundle directory: `verifyBundle` reports every problem
 * as data (for CLIs and CI), `loadBundle` returns the policy or throws.
 */
import { resolve } from 'node:path';
import { InvalidOptionsError, type Policy } from '@hexgate/core';
import { type KeyInput, trustedKeys } from './keys.ts';
import type { BundleManifest } from './manifest.ts';
import { type OpenedBundle, openBundle } from './open-bundle.ts';
import { type BundleProblem, BundleVerificationError, problem } from './problems.ts';
import { readBundleDir } from './read-bundle-dir.ts';
import { defaultRequireSignature } from './trust.ts';

export interface VerifyBundleOptions {
  /** Trusted Ed25519 public key(s): path, PEM or KeyObject. Several keys allow rotation. */
  readonly publicKey?: KeyInput | readonly KeyInput[];
  /** Refuse unsigned bundles. Default: on when NODE_ENV=production. */
  readonly requireSignature?: boolean;
  /** Clock for expiry checks (tests). */
  readonly now?: () => number;
  /** Total size of the bundle's files read at most; a larger file is reported `too-large`. Default 8 MiB. */
  readonly maxBytes?: number;
}

export interface BundleVerification {
  /** True when the bundle would be accepted (rollback aside: that needs the revision in force). */
  readonly ok: boolean;
  /** Every problem found; empty when ok. */
  readonly problems: readonly BundleProblem[];
  /** The manifest, when it could be read (after the signature check). */
  readonly manifest: BundleManifest | undefined;
  readonly signed: boolean;
  readonly signatureVerified: boolean;
  /** The digest of the policy, when it built. */
  readonly policyDigest: string | undefined;
}

export async function verifyBundle(dir: string, options: VerifyBundleOptions = {}): Promise<BundleVerification> {
  const b = await open(dir, options);
  return {
    ok: b.ok,
    problems: b.problems,
    manifest: b.manifest,
    signed: b.signed,
    signatureVerified: b.signatureVerified,
    policyDigest: b.policy?.digest,
  };
}

export interface LoadedBundle {
  readonly policy: Policy;
  readonly manifest: BundleManifest;
  readonly signatureVerified: boolean;
}

/** Verifies and loads a bundle directory. Throws `BundleVerificationError` listing every problem. */
export async function loadBundle(dir: string, options: VerifyBundleOptions = {}): Promise<LoadedBundle> {
  const v = await open(dir, options);
  if (v.ok && v.policy && v.manifest)
    return { policy: v.policy, manifest: v.manifest, signatureVerified: v.signatureVerified };
  throw new BundleVerificationError(resolve(dir), v.problems);
}

async function open(dir: string, options: VerifyBundleOptions): Promise<OpenedBundle> {
  const location = resolve(dir);
  const keys = trustedKeys(options.publicKey);
  const { maxBytes } = options;
  // A NaN limit would compare false and read anything.
  if (maxBytes !== undefined && (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes < 0))
    throw new InvalidOptionsError('maxBytes must be a non-negative number of bytes');
  let contents: Awaited<ReturnType<typeof readBundleDir>>;
  try {
    contents = await readBundleDir(location, maxBytes);
  } catch (e) {
    return {
      ok: false,
      problems: [problem('manifest-missing', `cannot read the bundle directory: ${(e as Error).message}`)],
      manifest: undefined,
      manifestSha256: undefined,
      signed: false,
      signatureVerified: false,
      policy: undefined,
    };
  }
  return openBundle(
    contents,
    {
      keys,
      requireSignature: options.requireSignature ?? defaultRequireSignature(),
      now: options.now?.() ?? Date.now(),
    },
    location,
  );
}

/**
 * Checks bundle contents (read from a directory or an HTTP document) and
 * builds the policy from them. Order matters: the signature is checked on the
 * raw manifest bytes before anything is parsed, then the manifest, then every
 * file's hash, then nothing but listed files are parsed as YAML.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { buildPolicyFromFiles, type Policy, PolicyLoadError } from '@hexgate/core';
import { keyIdOf, verifyingKey } from './keys.ts';
import { type BundleManifest, isoTime, MANIFEST_FILE, POLICY_DIR, parseManifest, SIGNATURE_FILE } from './manifest.ts';
import { type BundleProblem, problem } from './problems.ts';

/** The raw bytes of a bundle, however they were obtained. */
export interface BundleContents {
  /** manifest.json bytes, exactly as stored/served (the signature covers these). */
  readonly manifestBytes: Buffer | undefined;
  /** manifest.sig text (base64 Ed25519 signature), if any. */
  readonly signatureText: string | undefined;
  /** Every other file by bundle-relative POSIX path. */
  readonly files: ReadonlyMap<string, Buffer>;
  /** Structural problems found while reading (symlinks, odd entries). */
  readonly readProblems: readonly BundleProblem[];
}

export interface TrustSettings {
  readonly keys: readonly KeyObject[];
  readonly requireSignature: boolean;
  readonly now: number;
}

export interface OpenedBundle {
  readonly ok: boolean;
  readonly problems: readonly BundleProblem[];
  readonly manifest: BundleManifest | undefined;
  /** sha256 (hex) of the manifest bytes: two bundles with the same revision must have the same value. */
  readonly manifestSha256: string | undefined;
  readonly signed: boolean;
  /** True only when a configured trusted key verified the signature. */
  readonly signatureVerified: boolean;
  readonly policy: Policy | undefined;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function openBundle(contents: BundleContents, trust: TrustSettings, location: string): OpenedBundle {
  const problems: BundleProblem[] = [...contents.readProblems];
  const signed = contents.signatureText !== undefined;
  const fail = (extra: Partial<OpenedBundle> = {}): OpenedBundle => ({
    ok: false,
    problems,
    manifest: undefined,
    manifestSha256: undefined,
    signed,
    signatureVerified: false,
    policy: undefined,
    ...extra,
  });

  const bytes = contents.manifestBytes;
  if (!bytes) {
    problems.push(problem('manifest-missing', `no ${MANIFEST_FILE} in the bundle`));
    return fail();
  }

  // 1. Signature, on the raw bytes, before parsing anything.
  let verifiedBy: KeyObject | undefined;
  if (trust.keys.length > 0 || trust.requireSignature) {
    if (!signed) {
      problems.push(
        problem(
          'unsigned',
          trust.keys.length > 0
            ? 'the bundle is not signed and a trusted public key is configured'
            : 'the bundle is not signed and signatures are required',
        ),
      );
      return fail();
    }
    if (trust.keys.length === 0) {
      problems.push(problem('unsigned', 'signatures are required but no trusted public key is configured'));
      return fail();
    }
    const sig = decodeSignature(contents.signatureText ?? '');
    if (!sig) {
      problems.push(problem('signature-invalid', `${SIGNATURE_FILE} is not a base64 Ed25519 signature`));
      return fail();
    }
    verifiedBy = verifyingKey(bytes, sig, trust.keys);
    if (!verifiedBy) {
      problems.push(problem('bad-signature', 'the manifest signature does not verify with the trusted public key'));
      return fail();
    }
  }

  // 2. The manifest itself.
  const parsed = parseManifest(bytes);
  if ('problems' in parsed) {
    problems.push(...parsed.problems);
    return fail();
  }
  const manifest = parsed.manifest;
  const manifestSha256 = sha256(bytes);
  if (verifiedBy && manifest.keyId !== keyIdOf(verifiedBy)) {
    problems.push(
      problem(
        'key-mismatch',
        `the manifest names key ${manifest.keyId ?? 'null'}, but ${keyIdOf(verifiedBy)} signed it`,
      ),
    );
  }

  // 3. Every file: listed ones present with the right hash, nothing unlisted.
  for (const [path, entry] of Object.entries(manifest.files)) {
    const data = contents.files.get(path);
    if (!data) {
      problems.push(problem('file-missing', `${path} is listed in the manifest but missing`, { file: path }));
    } else if (data.length !== entry.size || sha256(data) !== entry.sha256) {
      problems.push(
        problem('file-hash-mismatch', `${path} does not match the manifest (modified or incomplete)`, { file: path }),
      );
    }
  }
  for (const path of contents.files.keys()) {
    if (!Object.hasOwn(manifest.files, path))
      problems.push(
        problem('file-unlisted', `${path} is in the bundle but not listed in the manifest`, { file: path }),
      );
  }

  // 4. Time validity.
  if (manifest.expiresAt !== undefined && trust.now >= (isoTime(manifest.expiresAt) ?? 0))
    problems.push(problem('expired', `the bundle expired at ${manifest.expiresAt}`));

  const base = { manifest, manifestSha256, signed, signatureVerified: verifiedBy !== undefined };
  if (problems.length > 0) return fail(base);

  // 5. Only now parse the (verified) policy files; core decodes them as strict UTF-8.
  try {
    const files = Object.keys(manifest.files)
      .sort()
      .map((path) => ({
        name: path.slice(POLICY_DIR.length + 1),
        path: `${location}/${path}`,
        bytes: contents.files.get(path) as Buffer,
      }));
    const policy = buildPolicyFromFiles({ kind: manifest.policy.kind, files }, `${location}/${POLICY_DIR}`);
    return { ok: true, problems, policy, ...base };
  } catch (e) {
    // Anything that stops the build refuses the bundle; only a PolicyLoadError carries positions.
    problems.push(
      PolicyLoadError.isInstance(e)
        ? problem('policy-invalid', e.message, { issues: e.issues })
        : problem('policy-invalid', `the policy files do not build: ${(e as Error)?.message ?? String(e)}`),
    );
    return fail(base);
  }
}

function decodeSignature(text: string): Buffer | undefined {
  const t = text.trim();
  if (!B64.test(t)) return undefined;
  const sig = Buffer.from(t, 'base64');
  return sig.length === 64 ? sig : undefined;
}

/**
 * The bundle manifest: what was signed. It is stored as canonical JSON
 * (sorted keys, no whitespace) so the same content always produces the same
 * bytes, and the signature covers those exact bytes. Parsing is strict:
 * unknown keys or a wrong shape make the whole manifest invalid, because a
 * field we silently ignored could be one an attacker relies on.
 */
import { canonicalJson } from '@hexgate/core';
import { type BundleProblem, problem } from './problems.ts';

export const MANIFEST_FORMAT = 'hexgate-bundle/1';
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
/** Policy files live under this folder of the bundle. */
export const POLICY_DIR = 'policy';

export interface ManifestFile {
  /** Lower-case hex sha256 of the file's bytes. */
  readonly sha256: string;
  readonly size: number;
}

export interface BundleManifest {
  readonly format: typeof MANIFEST_FORMAT;
  /** Names the policy line; revisions are only comparable within one id. */
  readonly policyId: string;
  /** Strictly increasing per policy id; loaders refuse anything lower than what is in force. */
  readonly revision: number;
  /** ISO 8601, when the bundle was built. */
  readonly issuedAt: string;
  /** ISO 8601; the bundle is refused (and stops being used) after this instant. */
  readonly expiresAt?: string;
  /** Fingerprint of the signing key, `null` for an unsigned bundle. */
  readonly keyId: string | null;
  readonly policy: {
    /** How the policy files are read: one file (`file`) or one role per file (`directory`). */
    readonly kind: 'file' | 'directory';
    /** The policy digest computed by the builder (informational; loaders recompute it). */
    readonly digest: string;
  };
  /** Every file of the bundle except the manifest and its signature, by bundle-relative POSIX path. */
  readonly files: Readonly<Record<string, ManifestFile>>;
}

const POLICY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{32}$/;
/** `policy/<name>.yaml`: one level, no dot files, conservative characters. */
const FILE_PATH = /^policy\/[A-Za-z0-9_][A-Za-z0-9._-]*\.yaml$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

export function isValidPolicyId(id: string): boolean {
  return POLICY_ID.test(id);
}

export function isSafeBundlePath(path: string): boolean {
  return FILE_PATH.test(path) && !path.includes('..');
}

export function serializeManifest(manifest: BundleManifest): Buffer {
  return Buffer.from(canonicalJson(manifest), 'utf8');
}

export function isoTime(value: string): number | undefined {
  if (!ISO.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

const TOP_KEYS = ['format', 'policyId', 'revision', 'issuedAt', 'expiresAt', 'keyId', 'policy', 'files'];

/** Parses manifest bytes. Only call this after the signature has been checked (when one is required). */
export function parseManifest(bytes: Uint8Array): { manifest: BundleManifest } | { problems: BundleProblem[] } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return { problems: [problem('manifest-invalid', `manifest.json is not JSON: ${(e as Error).message}`)] };
  }
  const problems: BundleProblem[] = [];
  const bad = (message: string) => problems.push(problem('manifest-invalid', message));
  if (!isRecord(value)) return { problems: [problem('manifest-invalid', 'manifest.json must be a JSON object')] };
  for (const k of Object.keys(value)) if (!TOP_KEYS.includes(k)) bad(`unknown manifest field '${k}'`);
  if (value.format !== MANIFEST_FORMAT)
    bad(`unsupported bundle format ${JSON.stringify(value.format)} (expected "${MANIFEST_FORMAT}")`);
  if (typeof value.policyId !== 'string' || !POLICY_ID.test(value.policyId))
    bad('policyId must be 1-128 characters of letters, digits, ".", "_" or "-"');
  if (!Number.isSafeInteger(value.revision) || (value.revision as number) < 1)
    bad('revision must be a positive integer');
  if (typeof value.issuedAt !== 'string' || isoTime(value.issuedAt) === undefined)
    bad('issuedAt must be an ISO 8601 UTC timestamp');
  if (value.expiresAt !== undefined && (typeof value.expiresAt !== 'string' || isoTime(value.expiresAt) === undefined))
    bad('expiresAt must be an ISO 8601 UTC timestamp');
  if (value.keyId !== null && (typeof value.keyId !== 'string' || !KEY_ID.test(value.keyId)))
    bad('keyId must be a 32-character hex key id or null');
  const policy = value.policy;
  if (
    !isRecord(policy) ||
    Object.keys(policy).some((k) => k !== 'kind' && k !== 'digest') ||
    (policy.kind !== 'file' && policy.kind !== 'directory') ||
    typeof policy.digest !== 'string'
  ) {
    bad('policy must be { kind: "file" | "directory", digest: string }');
  }
  const files = value.files;
  if (!isRecord(files) || Object.keys(files).length === 0) {
    bad('files must be a non-empty object of path -> { sha256, size }');
  } else {
    for (const [path, entry] of Object.entries(files)) {
      if (!isSafeBundlePath(path)) {
        problems.push(problem('unsafe-path', `manifest lists a path that is not allowed: ${path}`, { file: path }));
        continue;
      }
      if (
        !isRecord(entry) ||
        Object.keys(entry).some((k) => k !== 'sha256' && k !== 'size') ||
        typeof entry.sha256 !== 'string' ||
        !SHA256.test(entry.sha256) ||
        !Number.isSafeInteger(entry.size) ||
        (entry.size as number) < 0
      ) {
        bad(`files["${path}"] must be { sha256: <64 hex>, size: <bytes> }`);
      }
    }
    if (isRecord(policy) && policy.kind === 'file' && Object.keys(files).length !== 1)
      bad('a bundle of kind "file" holds exactly one policy file');
  }
  if (problems.length > 0) return { problems };
  return { manifest: value as unknown as BundleManifest };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

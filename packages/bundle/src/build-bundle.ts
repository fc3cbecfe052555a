/**
 * Builds a bundle directory from a policy file or directory:
 *
 *   <outDir>/manifest.json   canonical JSON (see manifest.ts)
 *   <outDir>/manifest.sig    base64 Ed25519 signature over the manifest bytes (signed bundles only)
 *   <outDir>/policy/*.yaml   the policy files, byte for byte as loaded and validated
 *
 * Revision rule: an explicit `revision` must be greater than the revision of
 * the bundle already in `outDir` (if any); without one, the revision is that
 * bundle's revision + 1, or 1 for a new directory. So rebuilding into the same
 * directory always moves forward, and CI can pin numbers explicitly.
 *
 * The new bundle is written to a temporary sibling directory, verified, and
 * then swapped in with renames, so a reader never sees a mix of old and new
 * files under `outDir` (and if it did, the hashes would refuse it).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { buildPolicyFromFiles, InvalidOptionsError, readPolicyFiles } from '@hexgate/core';
import { type KeyInput, keyIdOf, loadPrivateKey, loadPublicKey, signBytes } from './keys.ts';
import {
  type BundleManifest,
  isSafeBundlePath,
  isValidPolicyId,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  type ManifestFile,
  POLICY_DIR,
  parseManifest,
  SIGNATURE_FILE,
  serializeManifest,
} from './manifest.ts';
import { openBundle, sha256 } from './open-bundle.ts';
import { BundleVerificationError } from './problems.ts';
import { readBundleDir } from './read-bundle-dir.ts';

export interface BuildBundleOptions {
  /** The bundle directory to write (created, or replaced if it already holds a bundle). */
  readonly outDir: string;
  /** Ed25519 private key (path, PEM or KeyObject). Without it the bundle is unsigned. */
  readonly signKey?: KeyInput;
  /** Defaults to the id of the bundle already in `outDir`, else the policy file/directory name. */
  readonly policyId?: string;
  /** Defaults to previous + 1 (or 1). Must be greater than the revision already in `outDir`. */
  readonly revision?: number;
  /** After this instant loaders refuse the bundle. */
  readonly expiresAt?: string | Date;
  /** Clock for `issuedAt` (tests). */
  readonly now?: () => number;
}

export interface BuiltBundle {
  readonly dir: string;
  readonly manifest: BundleManifest;
  readonly signed: boolean;
  readonly policyDigest: string;
}

export async function buildBundle(policyPath: string, options: BuildBundleOptions): Promise<BuiltBundle> {
  if (!options?.outDir) throw new InvalidOptionsError('buildBundle: `outDir` is required');
  const outDir = resolve(options.outDir);
  const privateKey = options.signKey === undefined ? undefined : loadPrivateKey(options.signKey);

  // Validate first: a bundle is only ever built from a policy that loads.
  const read = await readPolicyFiles(policyPath);
  const policy = buildPolicyFromFiles(read, policyPath);

  const previous = await existingManifest(outDir);
  const policyId = options.policyId ?? previous?.policyId ?? defaultPolicyId(policyPath);
  if (!isValidPolicyId(policyId))
    throw new InvalidOptionsError(`invalid policy id '${policyId}': use letters, digits, ".", "_" or "-"`);
  if (previous && previous.policyId !== policyId)
    throw new InvalidOptionsError(
      `${outDir} holds a bundle of policy '${previous.policyId}', not '${policyId}'; use another output directory`,
    );
  const revision = pickRevision(options.revision, previous?.revision);

  const issued = options.now?.() ?? Date.now();
  let expiresAt: string | undefined;
  if (options.expiresAt !== undefined) {
    const ms = options.expiresAt instanceof Date ? options.expiresAt.getTime() : Date.parse(options.expiresAt);
    if (!Number.isFinite(ms)) throw new InvalidOptionsError(`invalid expiresAt '${String(options.expiresAt)}'`);
    if (ms <= issued) throw new InvalidOptionsError(`expiresAt ${new Date(ms).toISOString()} is not in the future`);
    expiresAt = new Date(ms).toISOString();
  }

  const payload = new Map<string, Buffer>();
  for (const f of read.files) {
    const path = `${POLICY_DIR}/${read.kind === 'file' ? 'policy.yaml' : f.name}`;
    if (!isSafeBundlePath(path))
      throw new InvalidOptionsError(
        `cannot bundle ${f.path}: role file names must be letters, digits, ".", "_" or "-" ending in .yaml`,
      );
    payload.set(path, f.bytes);
  }
  const files: Record<string, ManifestFile> = {};
  for (const [path, bytes] of payload) files[path] = { sha256: sha256(bytes), size: bytes.length };

  const manifest: BundleManifest = {
    format: MANIFEST_FORMAT,
    policyId,
    revision,
    issuedAt: new Date(issued).toISOString(),
    ...(expiresAt ? { expiresAt } : {}),
    keyId: privateKey ? keyIdOf(privateKey) : null,
    policy: { kind: read.kind, digest: policy.digest },
    files,
  };
  const manifestBytes = serializeManifest(manifest);

  const parent = dirname(outDir);
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, `.${basename(outDir)}.tmp-`));
  try {
    // mkdtemp makes the directory private (0700); a bundle is public, signed content that servers must read.
    await chmod(tmp, 0o755);
    await mkdir(join(tmp, POLICY_DIR));
    for (const [path, bytes] of payload) await writeFile(join(tmp, path), bytes);
    await writeFile(join(tmp, MANIFEST_FILE), manifestBytes);
    if (privateKey)
      await writeFile(join(tmp, SIGNATURE_FILE), `${signBytes(manifestBytes, privateKey).toString('base64')}\n`);

    // Self-check: what we wrote must load with the matching public key.
    const check = openBundle(
      await readBundleDir(tmp, Number.POSITIVE_INFINITY), // our own files: any size the policy has
      { keys: privateKey ? [loadPublicKey(privateKey)] : [], requireSignature: false, now: issued },
      outDir,
    );
    if (!check.ok) throw new BundleVerificationError(outDir, check.problems);
    await swapIn(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir: outDir, manifest, signed: privateKey !== undefined, policyDigest: policy.digest };
}

function pickRevision(explicit: number | undefined, previous: number | undefined): number {
  if (explicit === undefined) return (previous ?? 0) + 1;
  if (!Number.isSafeInteger(explicit) || explicit < 1)
    throw new InvalidOptionsError(`revision must be a positive integer, got ${String(explicit)}`);
  if (previous !== undefined && explicit <= previous)
    throw new InvalidOptionsError(
      `revision ${explicit} is not greater than the existing bundle's revision ${previous}; revisions only move forward`,
    );
  return explicit;
}

function defaultPolicyId(policyPath: string): string {
  const stem = basename(resolve(policyPath), extname(policyPath));
  const id = stem.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return id.slice(0, 128) || 'policy';
}

/**
 * The manifest of the bundle already in `outDir` (read without verifying: it
 * is only used to pick the next revision). Refuses to touch a non-empty
 * directory that is not a bundle, so a typo in --out cannot wipe a folder.
 */
async function existingManifest(outDir: string): Promise<BundleManifest | undefined> {
  if (!existsSync(outDir)) return undefined;
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch {
    throw new InvalidOptionsError(`${outDir} exists and is not a directory`);
  }
  if (names.length === 0) return undefined;
  if (!names.includes(MANIFEST_FILE))
    throw new InvalidOptionsError(`${outDir} is not empty and holds no bundle; refusing to overwrite it`);
  const parsed = parseManifest(await readFile(join(outDir, MANIFEST_FILE)));
  if ('problems' in parsed)
    throw new InvalidOptionsError(
      `${outDir} holds an invalid manifest (${parsed.problems[0]?.message}); remove it or use another directory`,
    );
  return parsed.manifest;
}

async function swapIn(tmp: string, outDir: string): Promise<void> {
  if (!existsSync(outDir)) {
    await rename(tmp, outDir);
    return;
  }
  const old = `${tmp}-old`;
  await rename(outDir, old);
  try {
    await rename(tmp, outDir);
  } catch (e) {
    await rename(old, outDir);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
}

/**
 * Reads a bundle directory into memory in one pass. Every entry is looked
 * at with lstat: symlinks and special files are refused (a bundle is plain
 * files), and any file other than the manifest and its signature is collected
 * so the verifier can refuse unlisted ones.
 *
 * The directory is exactly what an attacker may write to, so reading it is
 * bounded: at most `maxBytes` in all (a larger file is reported `too-large`
 * and not read), and each file is opened without following symlinks and
 * without blocking, then checked with fstat. lstat alone left a window in
 * which a file could be swapped for a symlink, or for a FIFO whose open()
 * blocks forever (the refresh, and close(), would never finish).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, SIGNATURE_FILE } from './manifest.ts';
import type { BundleContents } from './open-bundle.ts';
import { type BundleProblem, problem } from './problems.ts';

/** Default limit on the bytes read from one bundle (directory or HTTP document). */
export const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Throws only when `dir` itself cannot be read (missing, not a directory). */
export async function readBundleDir(dir: string, maxBytes: number = DEFAULT_MAX_BYTES): Promise<BundleContents> {
  const files = new Map<string, Buffer>();
  const readProblems: BundleProblem[] = [];
  let manifestBytes: Buffer | undefined;
  let signatureText: string | undefined;
  let budget = maxBytes;
  const notRegular = (relPath: string) =>
    readProblems.push(
      problem('unsafe-path', `${relPath} is not a regular file (symlinks are not allowed in a bundle)`, {
        file: relPath,
      }),
    );

  /** The file's bytes, or undefined when it is not a regular file or too large (a problem is recorded). */
  const readFileBounded = async (absPath: string, relPath: string): Promise<Buffer | undefined> => {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(absPath, OPEN_FLAGS);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ELOOP: a symlink swapped in after lstat; ENXIO: a FIFO without a writer (O_NONBLOCK).
      if (code === 'ELOOP' || code === 'ENXIO') {
        notRegular(relPath);
        return undefined;
      }
      throw e;
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        notRegular(relPath);
        return undefined;
      }
      const tooLarge = () => {
        readProblems.push(
          problem('too-large', `${relPath} would take the bundle over maxBytes ${maxBytes}; it was not read`, {
            file: relPath,
          }),
        );
        budget = -1; // report every further file as too large as well: the bundle is refused anyway
        return undefined;
      };
      if (info.size > budget) return tooLarge();
      // One byte more than expected tells a file that grew since fstat.
      const buf = Buffer.alloc(Math.min(info.size, budget) + 1);
      let length = 0;
      while (length < buf.length) {
        const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > budget) return tooLarge();
      budget -= length;
      return buf.subarray(0, length);
    } finally {
      await handle.close();
    }
  };

  const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      const absPath = join(abs, name);
      const info = await lstat(absPath);
      if (info.isDirectory()) {
        // Bundles are two levels deep (policy/<file>); anything deeper is not ours.
        if (depth >= 3) readProblems.push(problem('unsafe-path', `${relPath} is nested too deep`, { file: relPath }));
        else await walk(absPath, relPath, depth + 1);
        continue;
      }
      if (!info.isFile()) {
        notRegular(relPath);
        continue;
      }
      const bytes = await readFileBounded(absPath, relPath);
      if (bytes === undefined) continue;
      if (rel === '' && name === MANIFEST_FILE) manifestBytes = bytes;
      else if (rel === '' && name === SIGNATURE_FILE) signatureText = bytes.toString('utf8');
      else files.set(relPath, bytes);
    }
  };
  await walk(dir, '', 1);
  return { manifestBytes, signatureText, files, readProblems };
}

/** A stable fingerprint of everything read, to compare two reads. */
export function contentsKey(c: BundleContents): string {
  const h = new Map<string, Buffer | string | undefined>([
    [MANIFEST_FILE, c.manifestBytes],
    [SIGNATURE_FILE, c.signatureText],
    ...c.files,
    // Entries that were not read (symlinks, oversized files) change the directory too: without
    // them, adding one would look "unchanged" and re-confirm the policy in force.
    ['\0problems', c.readProblems.length > 0 ? JSON.stringify(c.readProblems) : undefined],
  ]);
  return fingerprint(h);
}

export function fingerprint(entries: ReadonlyMap<string, Buffer | string | undefined>): string {
  const hash = createHash('sha256');
  for (const key of [...entries.keys()].sort()) {
    const value = entries.get(key);
    if (value === undefined) continue;
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    // Length-prefixed so that no two different sets of entries hash alike.
    hash.update(`${key}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex');
}

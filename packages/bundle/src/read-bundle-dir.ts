/**
 * Reads a bundle directory into memory in one pass. Every entry is looked
 * at with lstat: symlinks and special files are refused (a bundle is plain
 * files), and any file other than the manifest and its signature is collected
 * so the verifier can refuse unlisted ones.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, SIGNATURE_FILE } from './manifest.ts';
import type { BundleContents } from './open-bundle.ts';
import { type BundleProblem, problem } from './problems.ts';

/** Throws only when `dir` itself cannot be read (missing, not a directory). */
export async function readBundleDir(dir: string): Promise<BundleContents> {
  const files = new Map<string, Buffer>();
  const readProblems: BundleProblem[] = [];
  let manifestBytes: Buffer | undefined;
  let signatureText: string | undefined;

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
      } else if (!info.isFile()) {
        readProblems.push(
          problem('unsafe-path', `${relPath} is not a regular file (symlinks are not allowed in a bundle)`, {
            file: relPath,
          }),
        );
      } else if (rel === '' && name === MANIFEST_FILE) {
        manifestBytes = await readFile(absPath);
      } else if (rel === '' && name === SIGNATURE_FILE) {
        signatureText = await readFile(absPath, 'utf8');
      } else {
        files.set(relPath, await readFile(absPath));
      }
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

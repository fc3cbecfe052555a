/**
 * Optional persistence of the highest bundle revision accepted, so that
 * rollback protection survives a restart: without it a freshly started
 * process would accept any older, validly signed bundle it is served.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { PolicySourceError } from './source-error.ts';

export interface RevisionState {
  readonly policyId: string;
  readonly revision: number;
  readonly manifestSha256: string;
}

/** Reads the state file; `undefined` when it does not exist yet. Throws on a corrupt file (fail closed). */
export function readRevisionState(path: string): RevisionState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PolicySourceError('state-file', `cannot read the revision state file ${path}: ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as Partial<RevisionState>;
    if (
      typeof v.policyId === 'string' &&
      Number.isSafeInteger(v.revision) &&
      typeof v.manifestSha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(v.manifestSha256)
    )
      return { policyId: v.policyId, revision: v.revision as number, manifestSha256: v.manifestSha256 };
  } catch {
    // fall through
  }
  throw new PolicySourceError(
    'state-file',
    `the revision state file ${path} is corrupt; refusing to guess the minimum revision (delete it to reset)`,
  );
}

/** The higher of two floors: the state only ever moves forward. */
export function higherState(a: RevisionState | undefined, b: RevisionState | undefined): RevisionState | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.revision > a.revision ? b : a;
}

export async function writeRevisionState(path: string, state: RevisionState): Promise<void> {
  // An unpredictable name created exclusively ('wx'): with a guessable name, anyone able to write
  // the state directory could plant a symlink there and have us overwrite the file it points to.
  const tmp = `${path}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(state)}\n`, { mode: 0o644, flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new PolicySourceError('state-file', `cannot write the revision state file ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads the YAML of a policy file or directory as bytes, with the same file
 * rules as core's `loadPolicy` (a directory holds `*.yaml` roles, dot files
 * are ignored, a `.yml` file is an error). Reading bytes ourselves, instead of
 * calling `loadPolicy`, lets the bundle builder hash exactly what it parsed
 * and lets the watcher compare two reads for stability.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildPolicy, type Policy, PolicyLoadError } from '@hexgate/core';

export interface PolicyFiles {
  readonly kind: 'file' | 'directory';
  /** File name (the base name inside a directory) and bytes, sorted by name. */
  readonly files: readonly { readonly name: string; readonly path: string; readonly bytes: Buffer }[];
}

export async function readPolicyFiles(path: string): Promise<PolicyFiles> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PolicyLoadError([
      {
        file: path,
        line: 1,
        column: 1,
        message:
          code === 'ENOENT' ? 'no such policy file or directory' : `cannot read the policy: ${(e as Error).message}`,
      },
    ]);
  }
  if (!info.isDirectory()) {
    return { kind: 'file', files: [{ name: basename(path), path, bytes: await readFile(path) }] };
  }
  const names = (await readdir(path)).sort();
  const yml = names.filter((n) => n.endsWith('.yml'));
  if (yml.length > 0) {
    throw new PolicyLoadError(
      yml.map((n) => ({
        file: join(path, n),
        line: 1,
        column: 1,
        message: 'policy directories hold *.yaml files; this .yml file would be ignored',
        hint: `rename it to ${basename(n, '.yml')}.yaml`,
      })),
    );
  }
  const yaml = names.filter((n) => n.endsWith('.yaml') && !n.startsWith('.'));
  const files = await Promise.all(
    yaml.map(async (name) => ({ name, path: join(path, name), bytes: await readFile(join(path, name)) })),
  );
  return { kind: 'directory', files };
}

/** Builds the policy from bytes read by `readPolicyFiles`. Throws `PolicyLoadError`. */
export function buildFromFiles(read: PolicyFiles, dir: string): Policy {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const texts = read.files.map((f) => {
    try {
      return { file: f.path, text: decoder.decode(f.bytes) };
    } catch {
      throw new PolicyLoadError([{ file: f.path, line: 1, column: 1, message: 'the policy file is not UTF-8 text' }]);
    }
  });
  return buildPolicy(texts, read.kind, dir);
}

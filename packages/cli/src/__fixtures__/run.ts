/** Test helper: runs the CLI in-process and captures what it prints. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../index.ts';

export const FIXTURES = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(FIXTURES, '../../../..');
export const EXAMPLE_POLICY = join(REPO, 'examples/policies/customer-support.yaml');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function run(
  argv: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined>; isTTY?: boolean } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    cwd: options.cwd ?? FIXTURES,
    env: options.env ?? {},
    isTTY: options.isTTY ?? false,
  });
  return { code, stdout, stderr };
}

/** The caller options of a single decision: `--user-id kim` and one `--role` per role. */
export function asUser(...roles: string[]): string[] {
  return ['--user-id', 'kim', ...roles.flatMap((role) => ['--role', role])];
}

/** A fresh temporary directory holding the given files. */
export function tempFiles(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hexgate-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/**
 * A temporary directory holding `errors/syntax.yaml`, a policy with a YAML
 * syntax error at 5:3 (written here, not kept in the fixtures, so the
 * formatter does not trip on it).
 */
export function brokenPolicyDir(): string {
  const dir = tempFiles({});
  mkdirSync(join(dir, 'errors'));
  writeFileSync(
    join(dir, 'errors/syntax.yaml'),
    'roles:\n  default:\n    tools:\n      search: { mode: allow\n  support: {}\n',
  );
  return dir;
}

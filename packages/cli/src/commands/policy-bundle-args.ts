/**
 * Shared by `policy build|keygen|verify`: the bundle commands live in
 * @hexgate/bundle (`runBundleCommand`), so these commands only turn the
 * options the runner parsed back into arguments and hand over the streams.
 */
import { runBundleCommand } from '@hexgate/bundle';
import type { CommandContext } from '../command.ts';

export function delegateToBundle(
  subcommand: 'build' | 'keygen' | 'verify',
  input: { values: Record<string, unknown>; positionals: readonly string[] },
  ctx: CommandContext,
): Promise<number> {
  const flags: string[] = [];
  for (const [name, value] of Object.entries(input.values)) {
    if (name === 'help') continue;
    if (value === true) flags.push(`--${name}`);
    else if (typeof value === 'string') flags.push(`--${name}`, value);
  }
  // `--` keeps a positional that starts with '-' from being read as an option again.
  return runBundleCommand([subcommand, ...flags, '--', ...input.positionals], {
    stdout: ctx.io.stdout,
    stderr: ctx.io.stderr,
    cwd: ctx.io.cwd,
  });
}

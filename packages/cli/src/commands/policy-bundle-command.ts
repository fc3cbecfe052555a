/**
 * Shared by `policy build|keygen|verify`: the bundle commands live in
 * @hexgate/bundle, which exports their options; the runner parses them and
 * `runParsedBundleCommand` gets the values and the streams.
 */
import { BUNDLE_COMMAND_OPTIONS, type BundleCommandName, runParsedBundleCommand } from '@hexgate/bundle';
import { type Command, defineCommand } from '../command.ts';

export function bundleCommand(name: BundleCommandName, help: string): Command {
  return defineCommand({
    help,
    options: BUNDLE_COMMAND_OPTIONS[name],
    run: (input, ctx) =>
      runParsedBundleCommand(name, input, { stdout: ctx.io.stdout, stderr: ctx.io.stderr, cwd: ctx.io.cwd }),
  });
}

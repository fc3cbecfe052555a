/**
 * @hexgate/cli public API: anything exported here is public and versioned.
 * The CLI itself is the `hexgate` bin; `runCli` runs it in-process (tests,
 * embedding), and `defineCommand` is how command modules are written.
 */
export type { CliIo, OutputStream, Style } from './cli-io.ts';
export { type Command, type CommandContext, type CommandInput, defineCommand, EXIT, UsageError } from './command.ts';
export { type CommandEntry, commands } from './commands/index.ts';
export { type LintWarning, lintPolicy } from './lint/lint-policy.ts';
export { runCli } from './run-cli.ts';

/**
 * The shape of one CLI command. A command module default-exports
 * `defineCommand({...})`; the runner parses its options with Node's
 * `util.parseArgs` (strict: an unknown option is a usage error), handles
 * `--help`, and calls `run` with typed values.
 */
import type { ParseArgsOptionsConfig, parseArgs } from 'node:util';
import type { CliIo, Style } from './cli-io.ts';

/** Exit codes shared by every command. */
export const EXIT = {
  ok: 0,
  /** The command ran and found a problem: an invalid policy, a deny, a failing test. */
  failure: 1,
  /** The command could not run: bad usage, a file that cannot be loaded. */
  usage: 2,
} as const;

export interface CommandContext {
  readonly io: CliIo;
  readonly style: Style;
  /** The command as typed, e.g. `hexgate policy test`, for messages. */
  readonly name: string;
  /** Resolves a path from the command line against `io.cwd`. */
  resolve(path: string): string;
  /** A path for display: relative to `io.cwd` when it is inside it. */
  display(path: string): string;
  out(line?: string): void;
  err(line?: string): void;
}

type Values<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>['values'];

export interface CommandInput<O extends ParseArgsOptionsConfig> {
  readonly values: Values<O>;
  readonly positionals: readonly string[];
}

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** Full help text for `--help` (usage line, options, examples). */
  readonly help: string;
  /** `util.parseArgs` options; `--help`/`-h` is added by the runner. */
  readonly options: O;
  run(input: CommandInput<O>, ctx: CommandContext): number | Promise<number>;
}

export interface Command {
  readonly help: string;
  readonly options: ParseArgsOptionsConfig;
  run(
    input: { values: Record<string, unknown>; positionals: readonly string[] },
    ctx: CommandContext,
  ): number | Promise<number>;
}

export function defineCommand<const O extends ParseArgsOptionsConfig>(spec: CommandSpec<O>): Command {
  return spec as unknown as Command;
}

/** A usage problem found by a command after parsing: printed with a pointer to `--help`, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The CLI entry point as a function: finds the command in the registry,
 * parses its options with `util.parseArgs`, and returns the exit code instead
 * of exiting, so tests run it in-process and `bin.ts` stays two lines.
 * `registry` defaults to the built-in commands; embedders may pass their own.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { didYouMean } from '@hexgate/core';
import { type CliIo, colorsEnabled, createStyle } from './cli-io.ts';
import { type Command, type CommandContext, EXIT, UsageError } from './command.ts';
import { type CommandEntry, commands } from './commands/index.ts';

const PROGRAM = 'hexgate';

function defaultIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  };
}

/** Runs the CLI with `argv` (without `node` and the script) and returns the exit code. */
export async function runCli(
  argv: readonly string[],
  io: Partial<CliIo> = {},
  registry: readonly CommandEntry[] = commands,
): Promise<number> {
  const full: CliIo = { ...defaultIo(), ...io };
  const style = createStyle(colorsEnabled(full));
  const line =
    (stream: CliIo['stdout']) =>
    (text = '') => {
      stream.write(`${text}\n`);
    };
  const out = line(full.stdout);
  const err = line(full.stderr);

  const first = argv[0];
  if (first === undefined) {
    err(topHelp(registry));
    return EXIT.usage;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    out(topHelp(registry));
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    out(version());
    return EXIT.ok;
  }

  if (first.startsWith('-')) {
    err(`${PROGRAM}: unknown option '${first}' (options go after the command)`);
    err(`Run '${PROGRAM} --help' for the list of commands.`);
    return EXIT.usage;
  }

  const words = leadingWords(argv);
  const entry = findCommand(registry, words);
  if (!entry) {
    const group = registry.filter((c) => c.path[0] === words[0]);
    if (group.length > 0 && words.length === 1) {
      const wantsHelp = argv.includes('--help') || argv.includes('-h');
      (wantsHelp ? out : err)(groupHelp(words[0] as string, group));
      return wantsHelp ? EXIT.ok : EXIT.usage;
    }
    // Name only the words that could be the command, not its arguments.
    const typed = (group.length > 0 ? words.slice(0, 2) : words.slice(0, 1)).join(' ') || first;
    const hint = didYouMean(
      typed,
      registry.map((c) => c.path.join(' ')),
    );
    err(`${PROGRAM}: unknown command '${typed}'${hint ? ` (${hint})` : ''}`);
    err(`Run '${PROGRAM} --help' for the list of commands.`);
    return EXIT.usage;
  }

  const name = `${PROGRAM} ${entry.path.join(' ')}`;
  const command: Command = (await entry.load()).default;
  const rest = argv.slice(entry.path.length);
  const ctx: CommandContext = {
    io: full,
    style,
    name,
    resolve: (p) => resolve(full.cwd, p),
    display: (p) => displayPath(full.cwd, p),
    out,
    err,
  };

  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }) as typeof parsed;
  } catch (e) {
    err(`${name}: ${parseArgsMessage(e, command)}`);
    err(`Run '${name} --help' for usage.`);
    return EXIT.usage;
  }
  if (parsed.values.help === true) {
    out(command.help.trimEnd());
    return EXIT.ok;
  }
  try {
    return await command.run(parsed, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${name}: ${e.message}`);
      err(`Run '${name} --help' for usage.`);
      return EXIT.usage;
    }
    err(`${name}: unexpected error: ${(e as Error)?.message ?? String(e)}`);
    return EXIT.usage;
  }
}

/** The words before the first option: the candidate command path. */
function leadingWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  return words;
}

/** The longest registered path that prefixes the typed words. */
function findCommand(registry: readonly CommandEntry[], words: readonly string[]): CommandEntry | undefined {
  let best: CommandEntry | undefined;
  for (const c of registry) {
    if (c.path.length <= words.length && c.path.every((w, i) => words[i] === w)) {
      if (!best || c.path.length > best.path.length) best = c;
    }
  }
  return best;
}

function parseArgsMessage(e: unknown, command: Command): string {
  const error = e as NodeJS.ErrnoException;
  const quoted = /'([^']+)'/.exec(error.message ?? '')?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const known = Object.keys(command.options).map((o) => `--${o}`);
      const hint = quoted ? didYouMean(quoted, [...known, '--help']) : undefined;
      return `unknown option '${quoted ?? '?'}'${hint ? ` (${hint})` : ''}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // Node says "Option '--tool <value>' argument missing" (or "... is ambiguous"
      // when the next word is an option), or "Option '--json' does not take an argument".
      const option = quoted?.split(' ')[0] ?? '?';
      return error.message.includes('does not take an argument')
        ? `option '${option}' does not take a value`
        : `option '${option}' needs a value`;
    }
    default:
      return error.message ?? String(e);
  }
}

function displayPath(cwd: string, path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel) ? path : rel;
}

function version(): string {
  // package.json sits one level above both src/ and dist/.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function commandList(entries: readonly CommandEntry[]): string {
  const width = Math.max(...entries.map((c) => c.path.join(' ').length));
  return entries.map((c) => `  ${PROGRAM} ${c.path.join(' ').padEnd(width)}  ${c.summary}`).join('\n');
}

function topHelp(registry: readonly CommandEntry[]): string {
  return [
    `${PROGRAM}: authorization for AI-agent tool calls`,
    '',
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    commandList(registry),
    '',
    `Run '${PROGRAM} <command> --help' for a command's options.`,
    `Options: --help, --version`,
  ].join('\n');
}

function groupHelp(group: string, entries: readonly CommandEntry[]): string {
  return [
    `Usage: ${PROGRAM} ${group} <command> [options]`,
    '',
    'Commands:',
    commandList(entries),
    '',
    `Run '${PROGRAM} ${group} <command> --help' for a command's options.`,
  ].join('\n');
}

/**
 * Where a command reads and writes. `runCli` takes these explicitly so tests
 * run commands in-process (fast, no child process) with captured output, a
 * chosen working directory and environment, and a chosen TTY-ness.
 */

export interface OutputStream {
  write(chunk: string): unknown;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** Relative paths on the command line are resolved against this directory. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stdout is a terminal; colours are used only then (and never with NO_COLOR). */
  readonly isTTY: boolean;
  /** Input for commands that read a stream (`mcp proxy`); the process's stdin when absent. */
  readonly stdin?: NodeJS.ReadableStream;
}

/** ANSI styling that collapses to the identity when colours are off. */
export interface Style {
  readonly enabled: boolean;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

/**
 * Colours only on a TTY, and never when NO_COLOR is set to a non-empty value
 * (https://no-color.org). FORCE_COLOR (non-empty, not "0") turns them on off a
 * TTY, for CI logs that render ANSI.
 */
export function colorsEnabled(io: Pick<CliIo, 'env' | 'isTTY'>): boolean {
  if (io.env.NO_COLOR) return false;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0';
  return io.isTTY;
}

export function createStyle(enabled: boolean): Style {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    bold: wrap(1, 22),
    dim: wrap(2, 22),
  };
}

/**
 * Plain-text tables for the terminal: aligned columns, long cells cut with
 * an ellipsis, no colors (safe to pipe and paste into a ticket).
 */

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Cells are cut to this many characters (default 40). */
  readonly max?: number;
  readonly align?: 'left' | 'right';
}

// Cells show text from the model (tool names, arguments, reasons) and from
// whoever can write the database (chain names, hashes). Control characters
// would reach the terminal as commands: ESC and the one-byte CSI (0x9b) start
// sequences that move the cursor or erase lines (a forged "verified" line
// over the real FIRST PROBLEM), set the title or the clipboard. Bidi
// overrides and isolates reorder what is shown. Each becomes U+FFFD.
const LINE_BREAKS = /[\r\n\t\u2028\u2029]+/g;
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** One line of text that is safe to print to a terminal. */
export function printable(s: string): string {
  return s.replace(LINE_BREAKS, ' ').replace(UNPRINTABLE, '\uFFFD');
}

function cut(s: string, max: number): string {
  const oneLine = printable(s);
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, Math.max(1, max - 1))}…`;
}

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => cut(c.value(r), c.max ?? 40)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]?.align === 'right' ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)];
  return `${out.join('\n')}\n`;
}

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

function cut(s: string, max: number): string {
  const oneLine = s.replace(/[\r\n\t]+/g, ' ');
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

/**
 * `hexgate audit <command>`: the audit queries on the command line. The CLI
 * package only routes `audit ...` here; everything is implemented (and
 * tested) in this package. Returns an exit code: 0 ok, 1 failure (including
 * a broken chain), 2 usage error.
 */
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Outcome } from '@hexgate/core';
import { csvCell, csvHeader, csvRow } from '../export-format.ts';
import { openAuditStore } from '../open-store.ts';
import type { AuditRecord, RecordKind } from '../record.ts';
import type { AuditPage, AuditQuery, AuditStore, ToolStats } from '../store.ts';
import type { VerifyReport } from '../verify.ts';
import { type Column, formatTable, printable } from './format-table.ts';

export interface CommandIO {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** Environment (default `process.env`): `HEXGATE_AUDIT_DB`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Relative file paths (`--db sqlite:./x.db`, `--out`) resolve against this (default `process.cwd()`). */
  readonly cwd?: string;
}

export const AUDIT_USAGE = `Usage: hexgate audit <command> [options]

Commands:
  list               decision history, newest first
  blocked            calls that were blocked (--last 24h | 7d | 30d, default 24h)
  stats              per-tool totals, block rate, top deny reasons, p50/p99 evaluation time
  trail <user-id>    everything one user did, oldest first
  export             every matching record (--format csv | json, default json; --out FILE)
  cleanup            delete records older than --older-than DAYS (dry run unless --yes)
  verify             recompute the hash chains; exit code 1 if a record is altered or missing

Options:
  --db URL           sqlite:./audit.db | postgres://user@host/db | jsonl:./audit.jsonl
                     (default: $HEXGATE_AUDIT_DB)
  --format F         table (default) | json | csv
  --tool T  --user U  --session S  --agent A  --role R  --policy DIGEST  --chain C
  --outcome allow|deny|approval_required   --effective allow|deny|approval_required
  --kind decision|approval|loss
  --since T  --until T   ISO-8601 time or a window ago (30m, 24h, 7d)
  --limit N  --cursor C  --order asc|desc      pagination (list, blocked, trail)
  --last W           window for blocked (24h, 7d, 30d, ...)
  --older-than DAYS  --yes                      cleanup
  --out FILE         export destination (default stdout)
  -h, --help
`;

class UsageError extends Error {}

/** The options of every `hexgate audit` command, as `util.parseArgs` takes them (`--help` aside). */
export const AUDIT_OPTIONS = {
  db: { type: 'string' },
  format: { type: 'string' },
  tool: { type: 'string' },
  user: { type: 'string' },
  session: { type: 'string' },
  agent: { type: 'string' },
  role: { type: 'string' },
  policy: { type: 'string' },
  chain: { type: 'string' },
  outcome: { type: 'string' },
  effective: { type: 'string' },
  kind: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  order: { type: 'string' },
  last: { type: 'string' },
  'older-than': { type: 'string' },
  yes: { type: 'boolean' },
  out: { type: 'string' },
} as const;

const OPTIONS = { ...AUDIT_OPTIONS, help: { type: 'boolean', short: 'h' } } as const;

const COMMANDS = ['list', 'blocked', 'stats', 'trail', 'export', 'cleanup', 'verify'];
const OUTCOMES = ['allow', 'deny', 'approval_required'];
const KINDS = ['decision', 'approval', 'loss'];

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function oneOf(name: string, value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value !== undefined && !allowed.includes(value)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got '${value}')`);
  }
  return value;
}

function queryFrom(v: Values): AuditQuery {
  const q: Record<string, unknown> = {};
  if (v.tool) q.tool = v.tool;
  if (v.user) q.userId = v.user;
  if (v.session) q.sessionId = v.session;
  if (v.agent) q.agent = v.agent;
  if (v.role) q.role = v.role;
  if (v.policy) q.policyDigest = v.policy;
  if (v.chain) q.chain = v.chain;
  if (v.outcome) q.outcome = oneOf('outcome', v.outcome, OUTCOMES) as Outcome;
  if (v.effective) q.effective = oneOf('effective', v.effective, OUTCOMES) as Outcome;
  if (v.kind) q.kind = oneOf('kind', v.kind, KINDS) as RecordKind;
  if (v.since) q.since = v.since;
  if (v.until) q.until = v.until;
  if (v.order) q.order = oneOf('order', v.order, ['asc', 'desc']);
  if (v.cursor) q.cursor = v.cursor;
  if (v.limit !== undefined) {
    const n = Number(v.limit);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--limit must be a positive integer (got '${v.limit}')`);
    q.limit = n;
  }
  return q as AuditQuery;
}

const time = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

const RECORD_COLUMNS: Column<AuditRecord>[] = [
  { header: 'TIME (UTC)', value: (r) => time(r.timestamp), max: 20 },
  { header: 'SEQ', value: (r) => String(r.seq), align: 'right', max: 12 },
  { header: 'KIND', value: (r) => (r.kind === 'approval' ? `approval:${r.approvalStatus}` : r.kind), max: 18 },
  { header: 'TOOL', value: (r) => r.tool ?? '', max: 28 },
  { header: 'USER', value: (r) => r.userId ?? '', max: 20 },
  {
    header: 'OUTCOME',
    value: (r) => (r.outcome === null ? '' : r.effective !== r.outcome ? `${r.outcome} (${r.effective})` : r.outcome),
    max: 28,
  },
  { header: 'ROLE', value: (r) => r.decidingRole ?? r.roles.join(','), max: 16 },
  {
    header: 'REASON',
    value: (r) =>
      r.kind === 'approval'
        ? [r.approver ? `${r.approvalStatus} by ${r.approver}` : '', r.reason ?? ''].filter(Boolean).join(': ')
        : (r.reason ?? ''),
    max: 60,
  },
];

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const msText = (x: number | null) => (x === null ? '' : x < 1 ? `${(x * 1000).toFixed(1)}µs` : `${x.toFixed(2)}ms`);

const STATS_COLUMNS: Column<ToolStats>[] = [
  { header: 'TOOL', value: (s) => s.tool, max: 28 },
  { header: 'TOTAL', value: (s) => String(s.total), align: 'right' },
  { header: 'ALLOW', value: (s) => String(s.allow), align: 'right' },
  { header: 'DENY', value: (s) => String(s.deny), align: 'right' },
  { header: 'APPROVAL', value: (s) => String(s.approvalRequired), align: 'right' },
  { header: 'BLOCK RATE', value: (s) => pct(s.blockRate), align: 'right' },
  { header: 'P50', value: (s) => msText(s.p50Ms), align: 'right' },
  { header: 'P99', value: (s) => msText(s.p99Ms), align: 'right' },
  {
    header: 'TOP DENY REASON',
    value: (s) => (s.topDenyReasons[0] ? `${s.topDenyReasons[0].reason} (${s.topDenyReasons[0].count})` : ''),
    max: 50,
  },
];

function printPage(page: AuditPage, format: string, io: CommandIO, empty: string): void {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    return;
  }
  if (format === 'csv') {
    io.stdout.write(csvHeader() + page.records.map(csvRow).join(''));
  } else if (page.records.length === 0) {
    io.stdout.write(`${empty}\n`);
  } else {
    io.stdout.write(formatTable(page.records, RECORD_COLUMNS));
  }
  if (page.nextCursor) {
    const hint = `more records: add --cursor ${page.nextCursor}\n`;
    // Keep CSV on stdout clean for redirection.
    (format === 'csv' ? io.stderr : io.stdout).write(format === 'csv' ? hint : `\n${hint}`);
  }
}

function printVerify(report: VerifyReport, format: string, io: CommandIO): void {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  if (report.chains.length === 0) {
    io.stdout.write('no audit records\n');
    return;
  }
  io.stdout.write(
    formatTable(report.chains, [
      { header: 'CHAIN', value: (c) => c.chain, max: 30 },
      { header: 'STATUS', value: (c) => (c.ok ? 'ok' : `BROKEN (${c.problem?.kind})`) },
      { header: 'RECORDS', value: (c) => String(c.records), align: 'right' },
      { header: 'SEQ', value: (c) => (c.firstSeq === null ? '' : `${c.firstSeq}..${c.lastSeq}`) },
      { header: 'ANCHOR', value: (c) => (c.anchorSeq > 0 ? `after seq ${c.anchorSeq}` : '') },
      { header: 'HEAD HASH', value: (c) => c.lastHash, max: 64 },
    ]),
  );
  const p = report.problem;
  if (p) {
    io.stdout.write(
      `\nFIRST PROBLEM: ${printable(`chain '${p.chain}', seq ${p.seq}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`)}\n`,
    );
  } else {
    io.stdout.write(`\nverified ${report.records} record(s): every hash chain is intact\n`);
  }
}

async function runCommand(
  cmd: string,
  v: Values,
  positionals: string[],
  store: AuditStore,
  io: CommandIO,
): Promise<number> {
  const format = v.format ?? 'table';
  const q = queryFrom(v);
  switch (cmd) {
    case 'list':
      printPage(await store.list(q), format, io, 'no matching records');
      return 0;
    case 'blocked': {
      const { since: _s, effective: _e, kind: _k, ...rest } = q;
      const last = v.last ?? '24h';
      printPage(await store.blocked({ ...rest, last }), format, io, `nothing was blocked in the last ${last}`);
      return 0;
    }
    case 'trail': {
      const user = positionals[0] ?? v.user;
      if (!user) throw new UsageError('trail needs a user id: hexgate audit trail <user-id>');
      const { userId: _u, ...rest } = q;
      printPage(await store.trail(user, rest), format, io, `no records for user '${user}'`);
      return 0;
    }
    case 'stats': {
      const { limit: _l, cursor: _c, order: _o, ...rest } = q;
      const stats = await store.stats(rest);
      if (format === 'json') io.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
      else if (format === 'csv') {
        io.stdout.write('tool,total,allow,deny,approvalRequired,blocked,blockRate,p50Ms,p99Ms,topDenyReason\r\n');
        for (const s of stats) {
          // Tool names come from the model: the same formula-safe cells as export.
          const cells = [
            s.tool,
            s.total,
            s.allow,
            s.deny,
            s.approvalRequired,
            s.blocked,
            s.blockRate,
            s.p50Ms,
            s.p99Ms,
            s.topDenyReasons[0]?.reason,
          ];
          io.stdout.write(`${cells.map(csvCell).join(',')}\r\n`);
        }
      } else if (stats.length === 0) io.stdout.write('no matching decisions\n');
      else io.stdout.write(formatTable(stats, STATS_COLUMNS));
      return 0;
    }
    case 'export': {
      const fmt = v.format ?? 'json';
      if (fmt !== 'csv' && fmt !== 'json') throw new UsageError('export --format must be csv or json');
      const { limit: _l, cursor: _c, ...rest } = q;
      if (v.out) {
        const file = createWriteStream(resolve(io.cwd ?? process.cwd(), v.out));
        const count = await store.export(rest, fmt, (chunk) => {
          if (!file.write(chunk)) return new Promise<void>((resolve) => file.once('drain', () => resolve()));
        });
        await new Promise<void>((resolve, reject) => file.end((e?: Error | null) => (e ? reject(e) : resolve())));
        io.stderr.write(`exported ${count} record(s) to ${v.out}\n`);
      } else {
        await store.export(rest, fmt, (chunk) => {
          io.stdout.write(chunk);
        });
      }
      return 0;
    }
    case 'cleanup': {
      const days = Number(v['older-than']);
      if (!v['older-than'] || !Number.isFinite(days) || days <= 0) {
        throw new UsageError('cleanup needs --older-than DAYS (a number > 0)');
      }
      const report = await store.cleanup({ olderThanDays: days, dryRun: !v.yes });
      if (format === 'json') {
        io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return 0;
      }
      if (report.chains.length === 0) {
        io.stdout.write(`nothing older than ${days} day(s) (before ${report.cutoff})\n`);
        return 0;
      }
      io.stdout.write(
        formatTable(report.chains, [
          { header: 'CHAIN', value: (c) => c.chain, max: 30 },
          { header: report.dryRun ? 'WOULD DELETE' : 'DELETED', value: (c) => String(c.count), align: 'right' },
          { header: 'THROUGH SEQ', value: (c) => String(c.throughSeq), align: 'right' },
          { header: 'OLDEST', value: (c) => time(c.oldest) },
          { header: 'NEWEST', value: (c) => time(c.newest) },
        ]),
      );
      io.stdout.write(
        report.dryRun
          ? `\ndry run: ${report.deleted} record(s) older than ${report.cutoff} would be deleted; run again with --yes to delete\n`
          : `\ndeleted ${report.deleted} record(s); each chain keeps an anchor so verify still passes\n`,
      );
      return 0;
    }
    case 'verify': {
      const report = await store.verify(v.chain ? { chain: v.chain } : {});
      printVerify(report, format, io);
      return report.ok ? 0 : 1;
    }
    default:
      // runParsedAuditCommand checked the name against COMMANDS before opening the store.
      throw new UsageError(`unknown audit command '${cmd}'`);
  }
}

function processIo(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

export async function runAuditCommand(argv: readonly string[], io: CommandIO = processIo()): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    io.stderr.write(`hexgate audit: ${(e as Error).message}\n\n${AUDIT_USAGE}`);
    return 2;
  }
  return runParsedAuditCommand(parsed, io);
}

/**
 * The same, for a CLI framework that already parsed `AUDIT_OPTIONS`
 * (positionals: the command, then its arguments, e.g. `['trail', 'alice']`).
 */
export async function runParsedAuditCommand(
  parsed: { readonly values: Record<string, unknown>; readonly positionals: readonly string[] },
  io: CommandIO = processIo(),
): Promise<number> {
  const values = parsed.values as Values;
  const [cmd, ...rest] = parsed.positionals;
  const help = values.help || cmd === 'help';
  if (help || !cmd) {
    (help ? io.stdout : io.stderr).write(AUDIT_USAGE);
    return help ? 0 : 2;
  }
  if (!COMMANDS.includes(cmd)) {
    io.stderr.write(`hexgate audit: unknown command '${cmd}'\n\n${AUDIT_USAGE}`);
    return 2;
  }
  if (values.format && !['table', 'json', 'csv'].includes(values.format)) {
    io.stderr.write(`hexgate audit: --format must be table, json or csv (got '${values.format}')\n`);
    return 2;
  }
  const db = values.db ?? (io.env ?? process.env).HEXGATE_AUDIT_DB;
  if (!db) {
    io.stderr.write(
      'hexgate audit: no database: pass --db sqlite:./audit.db (or postgres://...) or set HEXGATE_AUDIT_DB\n',
    );
    return 2;
  }
  let store: AuditStore | undefined;
  try {
    store = await openAuditStore(db, { cwd: io.cwd ?? process.cwd() });
    return await runCommand(cmd, values, rest, store, io);
  } catch (e) {
    // RangeError: an option value the store could not use (a bad --since, --last or --cursor).
    if (e instanceof UsageError || e instanceof RangeError) {
      io.stderr.write(`hexgate audit ${cmd}: ${e.message}\n`);
      return 2;
    }
    io.stderr.write(`hexgate audit ${cmd}: ${(e as Error)?.message ?? e}\n`);
    return 1;
  } finally {
    await store?.close().catch(() => {});
  }
}

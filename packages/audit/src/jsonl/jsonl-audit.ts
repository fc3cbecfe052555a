/**
 * JSONL audit sink: one record per line, appended with a single write and an
 * fsync per batch. The simplest durable trail (ship it with any log
 * pipeline), for one writer process per file. A batch torn by a crash (no
 * final newline) was never acknowledged, and is cut off when the file is
 * opened again. Queries load the file into an in-memory SQLite store.
 *
 * A line is exactly `recordLine(record)`: fixed field order, no whitespace,
 * U+2028/U+2029 escaped. `verifyJsonl` requires that form, so an edit that
 * keeps the parsed values (and so the hash) but changes what another reader
 * sees (a duplicate key that jq reads first, an extra field) is still caught.
 */
import {
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { InvalidOptionsError } from '@hexgate/core';
import type { AuditRecord } from '../record.ts';
import { type AuditSink, assertContinues, type ChainHead, EMPTY_HEAD } from '../sink.ts';
import { SqliteAudit } from '../sql/sqlite-audit.ts';
import { type ChainReport, ChainVerifier, summarize, type VerifyReport } from '../verify.ts';

export interface JsonlAuditOptions {
  readonly path: string;
  /** fsync after every batch (default true): a committed batch survives a crash of the machine. */
  readonly fsync?: boolean;
}

const CHUNK = 64 * 1024;

/** Field order of a line: the order `sealRecord` builds records in. */
const LINE_FIELDS = [
  'chain',
  'seq',
  'kind',
  'decisionId',
  'timestamp',
  'agent',
  'tool',
  'userId',
  'sessionId',
  'roles',
  'decidingRole',
  'outcome',
  'effective',
  'mode',
  'reason',
  'violations',
  'args',
  'argsHash',
  'userAttributes',
  'policyDigest',
  'evaluationMs',
  'approvalStatus',
  'approver',
  'lost',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditRecord)[];

const SEPARATORS = /[\u2028\u2029]/g;
const HAS_SEPARATOR = /[\u2028\u2029]/;
const escapeSeparator = (c: string): string => (c === '\u2028' ? '\\u2028' : '\\u2029');

/**
 * The one text form of a record in a JSONL trail. JSON.stringify leaves
 * U+2028/U+2029 raw, and readline (like many log shippers) ends a line at
 * them: a model that puts one in a tool name or an argument would otherwise
 * split its record in two and make the file unverifiable. Escaped, they are
 * the same JSON string. Fields are written in a fixed order, every one
 * present (null, never left out).
 */
export function recordLine(record: AuditRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const field of LINE_FIELDS) ordered[field] = record[field] ?? null;
  const text = JSON.stringify(ordered);
  return HAS_SEPARATOR.test(text) ? text.replace(SEPARATORS, escapeSeparator) : text;
}

export class JsonlAudit implements AuditSink {
  readonly name: string;
  readonly path: string;
  private readonly fsync: boolean;
  private fd: number | undefined;
  private size = 0;
  private readonly heads = new Map<string, ChainHead>();

  constructor(options: JsonlAuditOptions) {
    if (!options || typeof options.path !== 'string' || options.path === '') {
      throw new InvalidOptionsError('jsonlAudit: `path` is required');
    }
    this.path = options.path;
    this.name = `jsonl:${options.path}`;
    this.fsync = options.fsync !== false;
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    const fd = openSync(this.path, 'a+');
    this.size = fstatSync(fd).size;
    this.fd = fd;
    this.cutTornTail(fd);
    return fd;
  }

  /** Everything after the last newline is a batch that never finished: drop it. */
  private cutTornTail(fd: number): void {
    if (this.size === 0) return;
    const end = this.lastNewline(fd, this.size);
    const keep = end + 1;
    if (keep < this.size) {
      process.emitWarning(
        `hexgate audit: ${this.path} ended with ${this.size - keep} bytes of an unfinished write; removed them`,
      );
      ftruncateSync(fd, keep);
      this.size = keep;
    }
  }

  /** Offset of the last '\n' before `before`, or -1. */
  private lastNewline(fd: number, before: number): number {
    const buf = Buffer.alloc(CHUNK);
    let pos = before;
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      readSync(fd, buf, 0, len, pos);
      const i = buf.subarray(0, len).lastIndexOf(0x0a);
      if (i >= 0) return pos + i;
    }
    return -1;
  }

  /** Reads lines backwards until one of `chain` is found. */
  private findHead(fd: number, chain: string): ChainHead {
    let end = this.size;
    while (end > 0) {
      const nl = this.lastNewline(fd, end - 1);
      const start = nl + 1;
      const len = end - 1 - start;
      if (len > 0) {
        const buf = Buffer.alloc(len);
        readSync(fd, buf, 0, len, start);
        try {
          const r = JSON.parse(buf.toString('utf8')) as AuditRecord;
          if (r.chain === chain) return { seq: r.seq, hash: r.hash };
        } catch {
          // not a record: keep looking (verify reports it)
        }
      }
      end = start;
    }
    return EMPTY_HEAD;
  }

  head(chain: string): ChainHead {
    let h = this.heads.get(chain);
    if (!h) {
      h = this.findHead(this.open(), chain);
      this.heads.set(chain, h);
    }
    return h;
  }

  append(records: readonly AuditRecord[]): void {
    this.appendSync(records);
  }

  appendSync(records: readonly AuditRecord[]): void {
    const first = records[0];
    const last = records[records.length - 1];
    if (!first || !last) return;
    const fd = this.open();
    // Another sink on this file (a second trail in this process) may have
    // appended since: then the cached heads are stale and appending after
    // them would fork the chain. Re-read them from the file, so the batch
    // is refused (ChainConflictError) and the trail re-chains it. A file
    // that shrank is left alone: continuing after the cached head keeps
    // the removed records visible to verify as a gap.
    const actual = fstatSync(fd).size;
    if (actual > this.size) this.heads.clear();
    this.size = actual;
    assertContinues(this.head(first.chain), records);
    let text = '';
    for (const r of records) text += `${recordLine(r)}\n`;
    const data = Buffer.from(text, 'utf8');
    const before = this.size;
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      if (this.fsync) fsyncSync(fd);
    } catch (e) {
      // Leave no half batch behind (ENOSPC, EIO...).
      try {
        ftruncateSync(fd, before);
      } catch {
        // the torn tail is cut when the file is next opened
      }
      throw e;
    }
    this.size = before + data.length;
    this.heads.set(last.chain, { seq: last.seq, hash: last.hash });
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.heads.clear();
  }
}

export function jsonlAudit(options: JsonlAuditOptions | string): JsonlAudit {
  return new JsonlAudit(typeof options === 'string' ? { path: options } : options);
}

/**
 * Reads every record of a JSONL trail, with its line number and the line's
 * text. Throws on a line that is not JSON. Lines end at `\n` only (readline
 * would also end them at U+2028/U+2029, which may sit raw inside a string).
 */
export async function* readJsonl(path: string): AsyncGenerator<{ record: AuditRecord; line: number; text: string }> {
  let line = 0;
  let rest = '';
  const parse = (text: string): AuditRecord => {
    try {
      return JSON.parse(text) as AuditRecord;
    } catch (e) {
      throw Object.assign(new Error(`${path}:${line}: not a JSON record (${(e as Error).message})`), { line });
    }
  };
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop() as string;
    for (const text of lines) {
      line++;
      if (text.trim() !== '') yield { record: parse(text), line, text };
    }
  }
  line++;
  if (rest.trim() !== '') yield { record: parse(rest), line, text: rest };
}

/** Verifies every chain in a JSONL file (or only `chain`), in file order. Unreadable lines are reported whatever the chain. */
export async function verifyJsonl(path: string, options: { readonly chain?: string } = {}): Promise<VerifyReport> {
  const verifiers = new Map<string, ChainVerifier>();
  const get = (chain: string) => {
    let v = verifiers.get(chain);
    if (!v) {
      v = new ChainVerifier(chain);
      verifiers.set(chain, v);
    }
    return v;
  };
  try {
    for await (const { record, line, text } of readJsonl(path)) {
      if (typeof record?.chain !== 'string') {
        get('?').malformed(0, `line ${line}: not an audit record`, line);
        continue;
      }
      if (options.chain === undefined || record.chain === options.chain) {
        const stored =
          text === recordLine(record)
            ? undefined
            : {
                kind: 'tampered' as const,
                message: `record ${String(record.seq)} was edited: line ${line} is not the text the writer wrote (fields added, removed, duplicated, reordered or reformatted)`,
              };
        get(record.chain).push(record, line, stored);
      }
    }
  } catch (e) {
    const line = (e as { line?: number }).line;
    get('?').malformed(0, (e as Error).message, line);
  }
  const reports: ChainReport[] = [...verifiers.values()].map((v) => v.finish());
  return summarize(reports);
}

/** Loads a JSONL trail into an in-memory SQLite store, for queries and export. */
export async function loadJsonl(path: string): Promise<SqliteAudit> {
  const store = new SqliteAudit({ path: ':memory:' });
  const batch: AuditRecord[] = [];
  for await (const { record } of readJsonl(path)) {
    batch.push(record);
    if (batch.length >= 5_000) store.importRecords(batch.splice(0));
  }
  store.importRecords(batch);
  return store;
}

/**
 * JSONL audit sink: one record per line, appended with a single write and an
 * fsync per batch. The simplest durable trail (ship it with any log
 * pipeline), for one writer process per file. A batch torn by a crash (no
 * final newline) was never acknowledged, and is cut off when the file is
 * opened again. Queries load the file into an in-memory SQLite store.
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
import { createInterface } from 'node:readline';
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
    assertContinues(this.head(first.chain), records);
    const fd = this.open();
    let text = '';
    for (const r of records) text += `${JSON.stringify(r)}\n`;
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

/** Reads every record of a JSONL trail, with its line number. Throws on a line that is not JSON. */
export async function* readJsonl(path: string): AsyncGenerator<{ record: AuditRecord; line: number }> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let record: AuditRecord;
    try {
      record = JSON.parse(text) as AuditRecord;
    } catch (e) {
      throw Object.assign(new Error(`${path}:${line}: not a JSON record (${(e as Error).message})`), { line });
    }
    yield { record, line };
  }
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
    for await (const { record, line } of readJsonl(path)) {
      if (typeof record?.chain !== 'string') {
        get('?').malformed(0, `line ${line}: not an audit record`, line);
        continue;
      }
      if (options.chain === undefined || record.chain === options.chain) get(record.chain).push(record, line);
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

/**
 * Opens an audit database from a URL, as the CLI's `--db` takes it:
 * `sqlite:./audit.db`, `postgres://user@host/db`, `jsonl:./audit.jsonl`
 * (a bare path ending in .db/.sqlite/.sqlite3 or .jsonl works too).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { loadJsonl, verifyJsonl } from './jsonl/jsonl-audit.ts';
import { postgresAudit } from './sql/postgres-audit.ts';
import { sqliteAudit } from './sql/sqlite-audit.ts';
import type { AuditStore, CleanupOptions, CleanupReport } from './store.ts';

export type AuditDbKind = 'sqlite' | 'postgres' | 'jsonl';

export interface ParsedAuditUrl {
  readonly kind: AuditDbKind;
  /** File path (sqlite, jsonl) or connection string (postgres). */
  readonly target: string;
}

export function parseAuditUrl(url: string): ParsedAuditUrl {
  const u = url.trim();
  if (/^postgres(ql)?:\/\//i.test(u)) return { kind: 'postgres', target: u };
  const m = /^(sqlite|jsonl):(.*)$/i.exec(u);
  if (m) {
    let path = m[2] as string;
    // sqlite:///abs/path and sqlite://./rel/path are accepted too.
    if (path.startsWith('//')) path = path.slice(2);
    if (path === '')
      throw new RangeError(`no file in '${url}' (e.g. ${m[1]}:./audit.${m[1] === 'jsonl' ? 'jsonl' : 'db'})`);
    return { kind: (m[1] as string).toLowerCase() as AuditDbKind, target: path };
  }
  if (/\.(db|sqlite3?)$/i.test(u)) return { kind: 'sqlite', target: u };
  if (/\.jsonl$/i.test(u)) return { kind: 'jsonl', target: u };
  throw new RangeError(
    `unrecognized audit database '${url}': use sqlite:./audit.db, postgres://... or jsonl:./audit.jsonl`,
  );
}

export interface OpenAuditStoreOptions {
  /** Create a missing SQLite file (default false: a typo should not silently query an empty database). */
  readonly create?: boolean;
  /** Base directory for relative file paths (default: the process's working directory). */
  readonly cwd?: string;
}

/** Opens a store for queries. A JSONL file is loaded into memory (read-only; no cleanup). */
export async function openAuditStore(url: string, options: OpenAuditStoreOptions = {}): Promise<AuditStore> {
  const parsed = parseAuditUrl(url);
  const { kind } = parsed;
  if (kind === 'postgres') return postgresAudit(parsed.target);
  const target =
    parsed.target === ':memory:' || isAbsolute(parsed.target) || !options.cwd
      ? parsed.target
      : resolve(options.cwd, parsed.target);
  if (target !== ':memory:' && !existsSync(target) && !(kind === 'sqlite' && options.create)) {
    throw new Error(`no audit ${kind === 'jsonl' ? 'file' : 'database'} at ${target}`);
  }
  if (kind === 'sqlite') return sqliteAudit(target);
  return jsonlStore(target);
}

/**
 * A JSONL file as a store. Queries load it into memory on first use; verify
 * reads the file itself, line by line, and never loads it: a line that
 * cannot be loaded (an edited record) is what verify must report, by line,
 * rather than fail to start.
 */
function jsonlStore(target: string): AuditStore {
  let loaded: Promise<AuditStore> | undefined;
  const memory = (): Promise<AuditStore> => {
    loaded ??= loadJsonl(target);
    return loaded;
  };
  return {
    name: `jsonl:${target}`,
    list: async (query) => (await memory()).list(query),
    blocked: async (query) => (await memory()).blocked(query),
    stats: async (query) => (await memory()).stats(query),
    trail: async (userId, query) => (await memory()).trail(userId, query),
    export: async (query, format, write) => (await memory()).export(query, format, write),
    chains: async () => (await memory()).chains(),
    verify: (options) => verifyJsonl(target, options),
    cleanup: (_: CleanupOptions): Promise<CleanupReport> =>
      Promise.reject(new Error('cleanup is not supported for JSONL trails (rotate the file instead)')),
    close: async () => {
      const store = await loaded?.catch(() => undefined);
      await store?.close();
    },
  };
}

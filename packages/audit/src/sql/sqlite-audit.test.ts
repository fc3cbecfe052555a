import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decisionEvent } from '../__fixtures__/events.ts';
import { describeStore } from '../__fixtures__/store-suite.ts';
import { createAuditTrail, sqliteAudit } from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'hexgate-audit-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

describeStore('sqlite', async () => {
  const path = join(dir, `audit-${++n}.db`);
  const store = sqliteAudit(path);
  return {
    store,
    exec: async (sql) => {
      store.database.exec(sql);
    },
    reopen: async () => sqliteAudit(path),
  };
});

describe('sqlite specifics', () => {
  it('uses WAL journaling and full fsync by default', () => {
    const store = sqliteAudit(join(dir, 'pragmas.db'));
    expect(store.database.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(store.database.prepare('PRAGMA synchronous').get()).toEqual({ synchronous: 2 });
    store.database.close();
  });

  it('rejects options it cannot honour instead of running with others', () => {
    const path = join(dir, 'options.db');
    expect(() => sqliteAudit({ path, synchronous: 'off' as never })).toThrow(
      /`synchronous` must be 'full' or 'normal'/,
    );
    expect(() => sqliteAudit({ path, busyTimeoutMs: -1 })).toThrow(/`busyTimeoutMs` must be a number >= 0/);
    expect(() => sqliteAudit({ path: '' })).toThrow(/`path` is required/);
  });

  it('refuses a batch that does not continue the stored head, storing nothing', async () => {
    const store = sqliteAudit(join(dir, 'conflict.db'));
    const trail = createAuditTrail({ sink: store, exitHandler: false, closeSink: false });
    trail.recordDecision(decisionEvent());
    await trail.flush();
    const [r] = (await store.list()).records;
    if (!r) throw new Error('no record');
    expect(() => store.appendSync([{ ...r, seq: 5 }])).toThrow(/moved/);
    expect((await store.list()).records).toHaveLength(1);
    await trail.close();
    await store.close();
  });
});

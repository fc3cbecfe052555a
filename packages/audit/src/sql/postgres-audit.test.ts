import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../__fixtures__/pg-database.ts';
import { describeStore } from '../__fixtures__/store-suite.ts';
import { postgresAudit } from '../index.ts';

describeStore('postgres', async () => {
  const url = await createTestDatabase();
  const store = postgresAudit(url);
  return {
    store,
    exec: async (sql) => {
      await store.pool.query(sql);
    },
    reopen: async () => postgresAudit(url),
  };
});

describe('postgres specifics', () => {
  it('works with a pool the application owns, and leaves it open', async () => {
    const url = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = postgresAudit({ pool });
    await store.init();
    expect(await store.head('default')).toEqual({ seq: 0, hash: '0'.repeat(64) });
    await store.close();
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM hexgate_audit');
    expect(rows[0]).toEqual({ n: 0 });
    await pool.end();
  });

  it('creates its schema once even when several processes start together', async () => {
    const url = await createTestDatabase();
    const stores = Array.from({ length: 4 }, () => postgresAudit(url));
    await Promise.all(stores.map((s) => s.init()));
    expect(await Promise.all(stores.map((s) => s.chains()))).toEqual([[], [], [], []]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it('never prints the password of its connection string', () => {
    const store = postgresAudit('postgres://auditor:s3cret@db.internal:5432/audit');
    expect(store.name).toBe('postgres://auditor@db.internal:5432/audit');
    return store.close();
  });
});

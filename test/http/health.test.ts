import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { testBackend } from '../helpers/backend.ts';
import { createTestPgDatabase, type TestPgDatabase } from '../helpers/postgres.ts';

describe('GET /health', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
  });

  it('answers without a token: ok, sandbox mode, database ok', async () => {
    t = await buildTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', mode: 'sandbox', db: 'ok', backend: testBackend() });
  });

  it('reports live mode when an OFAuth key is configured', async () => {
    t = await buildTestApp({ env: { OFAUTH_API_KEY: 'live-key-1234' } });
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ mode: 'live' });
  });

  it('answers 503 degraded when the database is gone', async () => {
    t = await buildTestApp();
    await t.rows.disconnect();
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'degraded', mode: 'sandbox', db: 'error', backend: testBackend() });
  });

  describe('on PostgreSQL', () => {
    let database: TestPgDatabase;
    afterEach(async () => {
      await database.drop();
    });

    it('reports the postgres backend, and 503 degraded once the database no longer answers', async () => {
      database = await createTestPgDatabase();
      const db = database.open();
      t = await buildTestApp({ store: createPostgresStore(db, { recurrenceLeadMs: 0 }) });
      const res = await t.app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok', mode: 'sandbox', db: 'ok', backend: 'postgres' });

      await db.$client.end();
      const down = await t.app.inject({ method: 'GET', url: '/health' });
      expect(down.statusCode).toBe(503);
      expect(down.json()).toEqual({ status: 'degraded', mode: 'sandbox', db: 'error', backend: 'postgres' });
    });
  });
});

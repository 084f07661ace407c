import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import type { Backdoor } from '../helpers/backdoor.ts';
import { itOnSqliteOnly, openPeerStores, testBackend, type PeerStores } from '../helpers/backend.ts';
import { issueToken } from '../helpers/tokens.ts';

/**
 * authenticate caches principals; these prove a revocation is never missed, whichever connection
 * makes it. Two connections to one database, as two processes hold it (a SQLite file, since a
 * second connection to :memory: is a different database; or two pools on one PostgreSQL database).
 */
describe('token authentication and revocation', () => {
  let shared: PeerStores;
  let t: TestApp;
  let other: Backdoor;
  beforeEach(async () => {
    shared = await openPeerStores(testBackend(), { recurrenceLeadMs: loadConfig({}).recurrence.leadMs });
    t = await buildTestApp({ store: shared.peers[0]!.store });
    other = shared.peers[1]!.rows;
  });
  afterEach(async () => {
    try {
      await t.close();
    } finally {
      await shared.dispose();
    }
  });

  const listTokens = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: '/v1/tokens', headers });

  // SQLite only: PRAGMA data_version moves on any other connection's commit, so even this raw
  // UPDATE is seen on the next request. On PostgreSQL, by design, only the store's revoke bumps
  // the version row, polled at most once per TOKEN_VERSION_POLL_MS: test/instances/revocation
  // proves that path on both backends.
  itOnSqliteOnly()('refuses a token revoked by another process on its very next request', async () => {
    const bob = await issueToken(t.app, t.admin, { name: 'bob', role: 'admin' });
    expect((await listTokens(bob.headers)).statusCode).toBe(200);
    expect((await listTokens(bob.headers)).statusCode).toBe(200);

    await other.query(sql`UPDATE api_tokens SET revoked_at = ${Date.now()} WHERE id = ${bob.id}`);

    expect((await listTokens(bob.headers)).statusCode).toBe(401);
  });

  it('sees a token issued by another process', async () => {
    const bob = await issueToken(t.app, t.admin, { name: 'bob', role: 'admin' });
    // Another process copies bob's hash into a second token row under a new name.
    await other.query(
      sql`INSERT INTO api_tokens (id, name, role, connection_ids, secret_hash, created_at) SELECT 'tok_other', 'carol', role, NULL, 'x' || secret_hash, created_at FROM api_tokens WHERE id = ${bob.id}`,
    );
    expect((await listTokens(bob.headers)).json().items.map((i: { name: string }) => i.name).sort()).toEqual(['bob', 'carol']);
  });

  it('refuses a token revoked through the API at once, and keeps others working', async () => {
    const bob = await issueToken(t.app, t.admin, { name: 'bob', role: 'admin' });
    const carol = await issueToken(t.app, t.admin, { name: 'carol', role: 'admin' });
    expect((await listTokens(bob.headers)).statusCode).toBe(200);
    expect((await listTokens(carol.headers)).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/tokens/${bob.id}`, headers: carol.headers })).statusCode).toBe(204);
    expect((await listTokens(bob.headers)).statusCode).toBe(401);
    expect((await listTokens(carol.headers)).statusCode).toBe(200);
  });

  it('hands out principals nobody can change', async () => {
    const { secret } = await t.services.tokens.issue({ name: 'm', role: 'marketer', connectionIds: ['conn_a'] });
    const principal = (await t.services.tokens.authenticate(secret))!;
    expect(Object.isFrozen(principal)).toBe(true);
    expect(() => principal.connectionIds!.push('conn_b')).toThrow();
    expect((await t.services.tokens.authenticate(secret))!.connectionIds).toEqual(['conn_a']);
  });
});

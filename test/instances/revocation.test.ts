import { afterEach, describe, expect, it } from 'vitest';
import { TOKEN_VERSION_POLL_MS } from '../../src/store/types.ts';
import { databaseBackends, startCluster, type Cluster } from '../helpers/instances.ts';
import { issueToken } from '../helpers/tokens.ts';

/*
 * A token revoked through one instance is refused by every other within a second: each caches
 * principals, and drops them when the store's token version moves (PRAGMA data_version on
 * SQLite, the version row polled at most once a second on PostgreSQL).
 */
describe.each(databaseBackends)('token revocation across instances on $name', (backend) => {
  let cluster: Cluster;
  afterEach(async () => {
    await cluster.close();
  });

  it("refuses a token revoked through another instance within TOKEN_VERSION_POLL_MS, on the API and the dashboard's principal lookup", async () => {
    cluster = await startCluster(backend);
    const a = await cluster.start('inst-a');
    const b = await cluster.start('inst-b');
    const bob = await issueToken(a.app, cluster.admin, { name: 'bob', role: 'admin' });
    const listOnB = async () => (await b.app.inject({ method: 'GET', url: '/v1/tokens', headers: bob.headers })).statusCode;
    // Seen (and cached) by b: issued elsewhere, known here.
    expect(await listOnB()).toBe(200);
    expect(await listOnB()).toBe(200);
    expect(await b.fanout.services.tokens.principalById(bob.id)).toMatchObject({ name: 'bob' });

    const revoked = await a.app.inject({ method: 'DELETE', url: `/v1/tokens/${bob.id}`, headers: cluster.admin });
    expect(revoked.statusCode).toBe(204);

    cluster.clock.advance(TOKEN_VERSION_POLL_MS);
    expect(await listOnB()).toBe(401);
    expect(await b.fanout.services.tokens.principalById(bob.id)).toBeNull();
    // And on a at once.
    expect((await a.app.inject({ method: 'GET', url: '/v1/tokens', headers: bob.headers })).statusCode).toBe(401);
  });

  it('sees on another instance a token issued through one, within TOKEN_VERSION_POLL_MS, for a dashboard session', async () => {
    cluster = await startCluster(backend);
    const a = await cluster.start('inst-a');
    const b = await cluster.start('inst-b');
    expect(await b.fanout.services.tokens.principalById('tok_none')).toBeNull();
    const carol = await issueToken(a.app, cluster.admin, { name: 'carol', role: 'marketer', connectionIds: ['conn_sandbox'] });
    cluster.clock.advance(TOKEN_VERSION_POLL_MS);
    expect(await b.fanout.services.tokens.principalById(carol.id)).toMatchObject({ name: 'carol', role: 'marketer' });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { LeaseLostError, PAGES_PER_LEASE_RENEWAL, audienceKey, resolveChatFilters } from '../../src/audience/resolve.ts';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

describe('resolveChatFilters', () => {
  let sim: StartedSimulator;
  let client: OfauthClient;
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  async function startWith(chatCount: number) {
    const chats = Array.from({ length: chatCount }, (_, i) => ({ fanId: i + 1, unread: true }));
    sim = await startSimulator({ rateLimit: false, connections: [{ id: 'conn_sandbox', chats }] });
    client = fastClientFor(sim);
  }

  it('renews the lease every few pages, and stops when the lease is gone', async () => {
    await startWith(20 * (PAGES_PER_LEASE_RENEWAL + 3));
    let renewals = 0;

    const whole = await resolveChatFilters(client, 'conn_sandbox', ['unread'], { maxFans: 10_000, keepLease: async () => ++renewals > 0 });
    expect(whole).toMatchObject({ pages: PAGES_PER_LEASE_RENEWAL + 3, isTooLarge: false });
    expect(whole.fanIds).toHaveLength(20 * (PAGES_PER_LEASE_RENEWAL + 3));
    expect(renewals).toBe(1);

    await expect(resolveChatFilters(client, 'conn_sandbox', ['unread'], { maxFans: 10_000, keepLease: async () => false })).rejects.toThrow(LeaseLostError);
    expect(sim.requestCounts()['GET /v2/access/chats 200']).toBe(2 * (PAGES_PER_LEASE_RENEWAL + 3) - 3);
  });

  it('gives up instead of looping when OFAuth keeps answering hasMore with the same chats', async () => {
    await startWith(3);
    const stuck: OfauthClient = { ...client, listChats: async () => ({ list: [{ fanId: 1 }], hasMore: true, nextOffset: null }) };
    await expect(resolveChatFilters(stuck, 'conn_sandbox', ['priority'], { maxFans: 100 })).rejects.toThrow(/more than 20 pages of priority chats/);
  });
});

describe('audienceKey', () => {
  it('names an audience by its chat filters, whatever their order', () => {
    expect(audienceKey(['unread', 'priority'])).toBe(audienceKey(['priority', 'unread']));
    expect(audienceKey(['unread'])).not.toBe(audienceKey(['priority']));
  });
});

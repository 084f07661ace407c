import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { createOfauthClient, type OfauthClient } from '../../src/ofauth/client.ts';

/** A connection taken over from another instance starts from an empty bucket that refills from then. */
describe('OfauthClient.assumeSpent', () => {
  let client: OfauthClient;
  afterEach(async () => {
    await client.close();
  });

  it('empties only that connection’s bucket, which then refills at the plan’s rate', async () => {
    const clock = new ManualClock();
    // Nothing is called: the bucket is read through availableTokens only.
    client = createOfauthClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'unused', clock, rateLimit: { capacity: 10, refillPerSecond: 1 } });
    expect(client.availableTokens('conn_a')).toBe(9);
    client.assumeSpent('conn_a');
    expect(client.availableTokens('conn_a')).toBe(0);
    expect(client.availableTokens('conn_b')).toBe(9);
    clock.advance(3_000);
    expect(client.availableTokens('conn_a')).toBe(3);
    clock.advance(60_000);
    expect(client.availableTokens('conn_a')).toBe(9);
  });

  it('says how long until a token is there: 0 with one, the refill time to a whole one without', async () => {
    const clock = new ManualClock();
    client = createOfauthClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'unused', clock, rateLimit: { capacity: 10, refillPerSecond: 4 } });
    expect(client.msUntilToken('conn_a')).toBe(0);
    client.assumeSpent('conn_a');
    expect(client.msUntilToken('conn_a')).toBe(250);
    clock.advance(100);
    expect(client.msUntilToken('conn_a')).toBe(150);
    clock.advance(150);
    expect(client.msUntilToken('conn_a')).toBe(0);
    expect(client.availableTokens('conn_a')).toBe(1);
  });
});

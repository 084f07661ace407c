import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { findRemoteCopy } from '../../src/sync/find-remote.ts';
import { fingerprintOf, occurrenceLateMaxMs } from '../../src/sync/fingerprint.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

const MINUTE = 60_000;
const NOW = Date.UTC(2030, 0, 1, 13, 0, 5);
const message = { text: 'Hourly drop', mediaItems: [], price: 0 };

describe('late occurrences and their siblings', () => {
  it('keeps a late occurrence clear of the next occurrence by more than the date tolerance', () => {
    expect(occurrenceLateMaxMs(15 * MINUTE, 60 * MINUTE)).toBe(15 * MINUTE);
    expect(occurrenceLateMaxMs(15 * MINUTE, 10 * MINUTE)).toBe(9 * MINUTE);
    expect(occurrenceLateMaxMs(15 * MINUTE, MINUTE)).toBe(0);
  });

  describe('a "send now" search', () => {
    let sim: StartedSimulator;
    afterEach(() => sim.close());

    it("never adopts a message dated at another send's due time", async () => {
      const clock = new ManualClock(NOW);
      sim = await startSimulator({ clock, rateLimit: false });
      const client = fastClientFor(sim);
      // The sibling due at 14:00 is queued with its date; the late 13:00 occurrence went without one.
      const sibling = await client.createMassMessage(sim.connectionId, { text: message.text, userLists: [1], scheduledDate: '2030-01-01T14:00:00Z' });
      const search = {
        connectionId: sim.connectionId,
        fingerprint: fingerprintOf(message, null),
        startedAt: NOW,
        ownedElsewhere: async () => new Set<string>(),
        reservedDates: [Date.UTC(2030, 0, 1, 14)],
      };
      expect(await findRemoteCopy(client, search)).toEqual({ outcome: 'absent' });

      const own = await client.createMassMessage(sim.connectionId, { text: message.text, userLists: [1] });
      const found = await findRemoteCopy(client, search);
      expect(found).toMatchObject({ outcome: 'found', item: { id: own.id }, duplicates: 0 });
      expect(found.outcome === 'found' && found.item.id).not.toBe(sibling.id);
    });
  });
});

import { afterEach, describe, expect, test } from 'vitest';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import { isOfauthError } from '../../src/ofauth/errors.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { clientFor, manualTime } from './support.ts';

/** The chat-message operations of the client against the simulator (contract §3.11, seeds 000 and 003). */
describe('chat messages', () => {
  let t: ReturnType<typeof manualTime>;
  let sim: StartedSimulator;
  let client: OfauthClient;

  async function start(options: SimulatorOptions = {}) {
    t = manualTime();
    sim = await startSimulator({ clock: t.clock, unsendWindowMs: 300_000, ...options });
    client = clientFor(sim, { clock: t.clock, sleep: t.sleep, retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 100 } });
  }
  afterEach(async () => {
    await client.close();
    await sim.close();
  });

  test('sends with media and price, lists the chat newest first, and unsends by the guide path', async () => {
    await start();
    const first = await client.sendChatMessage(sim.connectionId, 101, { text: 'Hi **you**', mediaItems: [789, 790], price: 9.99, previewMediaCount: 1 });
    t.clock.advance(1_000);
    const second = await client.sendChatMessage(sim.connectionId, 101, { text: 'Second' });
    expect(first).toMatchObject({ text: '<p>Hi **you**</p>', price: 9.99, mediaCount: 2, unsendSeconds: 300 });

    expect((await client.listChatMessages(sim.connectionId, 101)).list.map((m) => m.id)).toEqual([second.id, first.id]);
    expect((await client.listChatMessages(sim.connectionId, 202)).list).toEqual([]);

    await client.deleteChatMessage(sim.connectionId, first.id, 101);
    expect((await client.listChatMessages(sim.connectionId, 101)).list.map((m) => m.id)).toEqual([second.id]);
    expect(sim.chatMessages()).toMatchObject([{ id: first.id, withUserId: 101, price: 9.99, mediaCount: 2, unsentAt: new Date(t.clock.now()).toISOString() }, { id: second.id, unsentAt: null }]);
    expect(sim.requestCounts()).toMatchObject({ 'DELETE /v2/access/messages/:id 200': 1 });
    const inspected = await fetch(`${sim.url}/__sim/chat-messages`).then((r) => r.json());
    expect(inspected.chatMessages).toHaveLength(2);
  });

  test("falls back to the SDK's unsend path when the guide's is not routed", async () => {
    await start({ quirks: { onlySdkChatUnsend: true } });
    const sent = await client.sendChatMessage(sim.connectionId, 101, { text: 'x' });

    await client.deleteChatMessage(sim.connectionId, sent.id, 101);

    expect(sim.requestCounts()).toMatchObject({ 'DELETE /v2/access/messages/:id 404': 1, 'DELETE /v2/access/chats/:userId/messages/:id 200': 1 });
    expect(sim.chatMessages()[0]!.unsentAt).not.toBeNull();
  });

  test('refuses an unsend past the window (400) and a wrong withUserId or a gone message (404)', async () => {
    await start();
    const sent = await client.sendChatMessage(sim.connectionId, 101, { text: 'x' });
    await expect(client.deleteChatMessage(sim.connectionId, sent.id, 999)).rejects.toMatchObject({ status: 404, code: 'RESOURCE_NOT_FOUND' });
    t.clock.advance(300_000);
    const late = await client.deleteChatMessage(sim.connectionId, sent.id, 101).catch((e: unknown) => e);
    expect(isOfauthError(late) && late.kind).toBe('invalid');
    expect(late).toMatchObject({ status: 400 });
    expect(sim.chatMessages()[0]!.unsentAt).toBeNull();
  });

  test('a send whose answer is lost after the commit (5xx or a drop) is ambiguous and never replayed', async () => {
    await start({ faults: { serverErrorAfterCommit: 1 } });
    await client.close();
    client = clientFor(sim, { clock: t.clock, sleep: t.sleep, retry: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1, maxTotalMs: 10_000 } });
    await expect(client.sendChatMessage(sim.connectionId, 101, { text: 'x' })).rejects.toMatchObject({ kind: 'ambiguous', attempts: 1 });
    sim.setFaults({ dropAfterCommit: 1 });
    await expect(client.sendChatMessage(sim.connectionId, 101, { text: 'y' })).rejects.toMatchObject({ kind: 'ambiguous' });
    expect(sim.chatMessages().map((m) => m.text)).toEqual(['x', 'y']);
  });
});

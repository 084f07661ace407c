import type { Send } from '../../src/sends/model.ts';
import { campaignBody, createCampaign } from '../helpers/factories.ts';
import type { SyncHarness } from '../helpers/sync.ts';

/** A campaign body whose audience exists on the simulator's default connection. */
export function simCampaignBody(now: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return campaignBody(now, { audience: { userLists: [1, 3], excludeUserLists: [4] }, ...overrides });
}

export async function createSimCampaign(h: SyncHarness, overrides: Record<string, unknown> = {}) {
  return createCampaign(h.app, h.admin, simCampaignBody(h.clock.now(), overrides));
}

export async function getCampaign(h: SyncHarness, id: string): Promise<Record<string, any>> {
  const res = await h.app.inject({ method: 'GET', url: `/v1/campaigns/${id}`, headers: h.admin });
  if (res.statusCode !== 200) throw new Error(`get ${id}: ${res.statusCode} ${res.body}`);
  return res.json();
}

export async function eventTypes(h: SyncHarness, id: string): Promise<string[]> {
  const res = await h.app.inject({ method: 'GET', url: `/v1/campaigns/${id}/events?limit=500`, headers: h.admin });
  return res.json().items.map((e: { type: string }) => e.type);
}

/** Simulator messages that are still live (not canceled or unsent). */
export function liveMessages(h: SyncHarness) {
  return h.sim.messages().filter((m) => m.state !== 'canceled' && m.canceledAt === null && m.unsentAt === null);
}

/** The one send of a one-shot campaign, as stored. */
export async function sendOf(h: SyncHarness, campaignId: string): Promise<Send> {
  const record = await h.store.campaigns.find(campaignId);
  if (!record?.send) throw new Error(`campaign ${campaignId} has no send`);
  return record.send;
}

/**
 * Puts a send's lease in another owner's hands, as a process that claimed it would have. Lease
 * columns are no derived state, so the test writes them directly.
 */
export async function leaseSend(h: SyncHarness, sendId: string, owner: string, expiresAt: number): Promise<void> {
  await h.rows.updateSend(sendId, { leaseOwner: owner, leaseExpiresAt: expiresAt });
}

/**
 * What the stats poller writes when it finds a send's remote message canceled in OFAuth: the
 * send canceled with its remote copy gone, through the lifecycle (so the campaign mirrors it).
 */
export async function recordRemoteCancel(h: SyncHarness, campaignId: string): Promise<void> {
  const send = await sendOf(h, campaignId);
  const now = h.clock.now();
  await h.rows.writeSendThroughLifecycle(send, { status: 'canceled', remoteDeletedAt: now, syncState: 'deleted' }, now);
}

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

import { ManualClock } from '../../src/clock.ts';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { buildTestApp, type TestApp } from '../helpers/app.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface SeriesHarness extends TestApp {
  sim: StartedSimulator;
  client: OfauthClient;
  get(url: string): Promise<Record<string, any>>;
  post(url: string, payload?: unknown): Promise<{ statusCode: number; json: Record<string, any> }>;
  patch(url: string, payload: unknown): Promise<{ statusCode: number; json: Record<string, any> }>;
  /** The campaign's sends, oldest first. */
  sendsOf(campaignId: string): Promise<Array<Record<string, any>>>;
  /** Remote messages in the simulator not canceled. */
  liveRemote(): Array<{ id: number; body: Record<string, any> }>;
}

/**
 * The whole service over the OFAuth simulator on loopback, sharing one manual clock, with the
 * series settings a test asks for (RECURRENCE_LEAD 1 h and RECURRENCE_MIN_INTERVAL 1 h unless
 * overridden). `fanout.syncOnce()` is one scheduler tick: materialise, then reconcile.
 */
export async function buildSeriesHarness(options: { start: number; env?: Record<string, string>; sim?: SimulatorOptions }): Promise<SeriesHarness> {
  const clock = new ManualClock(options.start);
  const sim = await startSimulator({ clock, rateLimit: false, ...options.sim });
  const client = fastClientFor(sim);
  const t = await buildTestApp({ clock, client, random: () => 0.5, owner: 'test-owner', env: { RECURRENCE_LEAD: '1h', RECURRENCE_MIN_INTERVAL: '1h', ...options.env } });
  const call = async (method: 'POST' | 'PATCH', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: t.admin, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    return { statusCode: res.statusCode, json: res.json() as Record<string, any> };
  };
  return {
    ...t,
    sim,
    client,
    async get(url) {
      const res = await t.app.inject({ method: 'GET', url, headers: t.admin });
      if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    post: (url, payload) => call('POST', url, payload),
    patch: (url, payload) => call('PATCH', url, payload),
    async sendsOf(campaignId) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${campaignId}/sends?limit=100`, headers: t.admin });
      return (res.json().items as Array<Record<string, any>>).reverse();
    },
    liveRemote: () => sim.messages().filter((m) => m.canceledAt === null && m.unsentAt === null) as unknown as Array<{ id: number; body: Record<string, any> }>,
    async close() {
      await t.close();
      await sim.close();
    },
  };
}

/** A weekly-drop series body on the simulator's connection; override any part. */
export function seriesBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Friday drop',
    connectionId: 'conn_sandbox',
    message: { text: 'Weekly drop', mediaItems: [4211], price: 9.99, previewMediaCount: 1 },
    audience: { userLists: [1, 3], excludeUserLists: [4] },
    scheduledAt: null,
    recurrence: { cron: '0 20 * * 5', timezone: 'America/New_York' },
    ...overrides,
  };
}

import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { SimConnectionInput } from '../../../src/ofauth/simulator/app.ts';
import { defaultConnections } from '../../../src/ofauth/simulator/store.ts';

/* What the crash tests share: their simulator's connections and faults, and the server's settings. */

/** A second connection beside the sandbox's, so the lanes and leases work two at once. */
export const SECOND_CONNECTION = 'conn_crash_b';
export const crashConnections: SimConnectionInput[] = [
  ...defaultConnections,
  { id: SECOND_CONNECTION, lists: [{ id: 1, name: 'Fans', size: 800 }, { id: 2, name: 'Following', size: 90 }, { id: 4, name: 'Muted', size: 12 }] },
];

/** Faults while the server is being killed: writes that commit and then fail, a few plain 5xx, latency. */
export const killPhaseFaults = (seed: number) => ({ seed, serverErrorAfterCommit: 0.1, dropAfterCommit: 0.1, serverErrorBeforeCommit: 0.02, latencyMs: [0, 50] as [number, number] });

/** Requests the simulator counted whose "METHOD route status" key ends with `suffix` (' 500', ' dropped', ' 429'). */
export const sumCounts = (counts: Record<string, number>, suffix: string) =>
  Object.entries(counts)
    .filter(([key]) => key.endsWith(suffix))
    .reduce((total, [, n]) => total + n, 0);

/** Emits 'ofauth-create' (POST) and 'ofauth-write' (other writes) as OFAuth writes reach the simulator: the kill loop aims at them. */
export function watchOfauthWrites(server: { on(event: 'request', listener: (request: { method?: string; url?: string }) => void): unknown }, activity: EventEmitter): void {
  server.on('request', (request) => {
    if (request.method === 'GET' || !request.url?.startsWith('/v2/access/')) return;
    activity.emit(request.method === 'POST' ? 'ofauth-create' : 'ofauth-write');
  });
}

/**
 * The crash tests' server settings: the simulator as OFAuth with a 2 s timeout and generous
 * limits, a sync tick each second, short leases, and one deployment slot restarted after each
 * kill (each life takes the connection leases of the last at once, rather than idling until
 * they expire). `extra` adds a scenario's own.
 */
export function crashServerEnv(options: {
  port: number;
  workDir: string;
  adminToken: string;
  sim: { apiKey: string; url: string };
  /** Default crash-slot-1; null: none, so each life is a new instance. */
  instanceId?: string | null;
  extra?: Record<string, string>;
}): Record<string, string> {
  const instanceId = options.instanceId === undefined ? 'crash-slot-1' : options.instanceId;
  return {
    PORT: String(options.port),
    HOST: '127.0.0.1',
    DATABASE_PATH: join(options.workDir, 'fanout.db'),
    ADMIN_TOKEN: options.adminToken,
    OFAUTH_API_KEY: options.sim.apiKey,
    OFAUTH_BASE_URL: options.sim.url,
    OFAUTH_TIMEOUT: '2s',
    OFAUTH_RATE_CAPACITY: '1000',
    OFAUTH_RATE_PER_MINUTE: '60000',
    LOG_LEVEL: 'warn',
    SYNC_CRON: '* * * * * *',
    SYNC_BATCH: '10',
    LEASE_MS: '6s',
    SYNC_SETTLE: '1s',
    ...(instanceId === null ? {} : { INSTANCE_ID: instanceId }),
    ...options.extra,
  };
}

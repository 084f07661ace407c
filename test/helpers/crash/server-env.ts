import { join } from 'node:path';

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

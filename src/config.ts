import { randomBytes } from 'node:crypto';
import { validate as isValidCron } from 'node-cron';
import { z } from 'zod';
import { parseDuration } from './duration.ts';

const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 1500ms, 30s, 15m, 2h or 7d' });
    return z.NEVER;
  }
  return ms;
});

const cronSchema = z.string().refine((expr) => isValidCron(expr), 'expected a cron expression, e.g. "*/5 * * * * *"');

const intSchema = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Treats "" like unset, so `FOO=` in a .env file falls back to the default. */
const emptyAsUndefined = (value: unknown) => (value === '' ? undefined : value);

const envSchema = z.object({
  PORT: intSchema(0, 65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_PATH: z.string().min(1).default('./data/fanout.db'),
  // Messages name the problem, never the value: the URL carries the password.
  DATABASE_URL: z
    .string()
    .refine((text) => URL.canParse(text) && /^postgres(ql)?:$/.test(new URL(text).protocol), 'expected a postgres:// (or postgresql://) URL')
    .refine((text) => !URL.canParse(text) || !new URL(text).searchParams.has('sslmode'), 'set TLS with DATABASE_SSL, not sslmode in the URL')
    .optional(),
  DATABASE_POOL_SIZE: intSchema(1, 1_000).default(10),
  DATABASE_STATEMENT_TIMEOUT: durationSchema.default(30_000),
  DATABASE_SSL: z.enum(['disable', 'require', 'verify-full']).default('disable'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  OFAUTH_API_KEY: z.string().min(1).optional(),
  OFAUTH_BASE_URL: z.url({ protocol: /^https?$/ }).default('https://api.ofauth.com'),
  OFAUTH_ENDPOINTS: z.enum(['queue', 'mass-messages']).default('queue'),
  OFAUTH_TIMEOUT: durationSchema.default(15_000),
  OFAUTH_RATE_CAPACITY: intSchema(1, 100_000).default(90),
  OFAUTH_RATE_PER_MINUTE: intSchema(1, 1_000_000).default(60),
  OFAUTH_UNSEND_WINDOW: durationSchema.default(24 * 3_600_000),
  // Comma-separated fan ids; unset: any fan may receive a test send.
  TEST_SEND_ALLOWLIST: z
    .string()
    .transform((text, ctx) => {
      const ids = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
      const bad = ids.filter((id) => !/^[1-9]\d{0,15}$/.test(id));
      if (bad.length > 0 || ids.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'expected comma-separated positive fan ids such as 101,102' });
        return z.NEVER;
      }
      return [...new Set(ids.map(Number))];
    })
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SYNC_CRON: cronSchema.default('*/5 * * * * *'),
  SYNC_BATCH: intSchema(1, 1_000).default(10),
  LEASE_MS: durationSchema.default(120_000),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'at most 100 letters, digits, dots, underscores, colons or hyphens')
    .optional(),
  LATE_SEND_MAX: durationSchema.default(15 * 60_000),
  LATE_SEND_POLICY: z.enum(['fail', 'send']).default('fail'),
  SYNC_SETTLE: durationSchema.default(30_000),
  STATS_CRON: cronSchema.default('0 * * * * *'),
  STATS_BUDGET: z.coerce.number().gt(0).max(1).default(0.3),
  STATS_TRACK_DAYS: intSchema(1, 365).default(7),
  SANDBOX_SEND_DURATION: durationSchema.default(30_000),
  RECURRENCE_MIN_INTERVAL: durationSchema.default(3_600_000),
  RECURRENCE_LEAD: durationSchema.default(3_600_000),
  FOLLOW_UP_MIN_AFTER: durationSchema.refine((ms) => ms >= 60_000, 'must be at least 1m').default(3_600_000),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  SESSION_TTL: durationSchema.default(12 * 3_600_000),
  AUDIENCE_RESOLVE_LEAD: durationSchema.default(10 * 60_000),
  AUDIENCE_MAX_FANS: intSchema(1, 10_000_000).default(50_000),
  LISTS_CACHE_TTL: durationSchema.default(10 * 60_000),
  OVERLAP_WINDOW: durationSchema.default(12 * 3_600_000),
});

export type Env = z.input<typeof envSchema>;

/** The embedded SQLite file, or a PostgreSQL server (DATABASE_URL set). */
export type DatabaseConfig =
  | { backend: 'sqlite'; path: string }
  | { backend: 'postgres'; url: string; poolSize: number; statementTimeoutMs: number; ssl: 'disable' | 'require' | 'verify-full' };

/** The service's settings, parsed once at start and never read from process.env again. */
export interface Config {
  port: number;
  host: string;
  /** DATABASE_PATH, whichever backend is chosen. */
  databasePath: string;
  database: DatabaseConfig;
  adminToken: string | null;
  logLevel: string;
  /** Sandbox mode: no OFAuth key, so the built-in simulator stands in for OFAuth. */
  mode: 'sandbox' | 'live';
  ofauth: {
    apiKey: string | null;
    baseUrl: string;
    endpoints: 'queue' | 'mass-messages';
    timeoutMs: number;
    rateCapacity: number;
    refillPerSecond: number;
    /**
     * OFAuth's unsend window (undocumented; OnlyFans' own is 24 h): message.unsendAfter may not
     * exceed it, and the sandbox simulator uses it.
     */
    unsendWindowMs: number;
  };
  /** Who may receive a test send (TEST_SEND_ALLOWLIST); null: any fan. */
  testSend: { allowlist: number[] | null };
  sync: {
    cron: string;
    batch: number;
    leaseMs: number;
    lateSendMaxMs: number;
    lateSendPolicy: 'fail' | 'send';
    settleMs: number;
  };
  stats: { cron: string; budget: number; trackDays: number };
  /**
   * This instance's stable id (INSTANCE_ID), or null for one made per process. A restart under
   * the same id takes its connection leases back at once instead of waiting for them to expire;
   * two instances running at once must never share one.
   */
  instanceId: string | null;
  sandbox: { sendDurationMs: number };
  /** Series: the closest two occurrences may come, and how long before its time an occurrence becomes a send. */
  recurrence: { minIntervalMs: number; leadMs: number };
  /** FOLLOW_UP_MIN_AFTER: the shortest `after` a follow-up may have. */
  followUps: { minAfterMs: number };
  /**
   * The dashboard's session cookie: the key it is sealed with, and how long a sign-in lasts.
   * `secret` is null in live mode without SESSION_SECRET (the dashboard is then not served);
   * in sandbox mode without one it is random per start (`isEphemeral`), so sessions end on restart.
   */
  session: { secret: string | null; isEphemeral: boolean; ttlMs: number };
  /**
   * Audiences: how long before its time a chat-filter audience is resolved (and the send
   * created), the most fans one send may resolve to, how long OFAuth's user lists are cached,
   * and how close two sends on a connection must be to be reported as overlapping.
   */
  audience: { resolveLeadMs: number; maxFans: number; listsCacheTtlMs: number; overlapWindowMs: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A sandbox start without SESSION_SECRET gets a random one, so `npm start` on a fresh clone
 * serves the dashboard; live mode never guesses (several instances must share one key).
 */
function sessionSettings(secret: string | undefined, mode: Config['mode'], ttlMs: number): Config['session'] {
  if (secret) return { secret, isEphemeral: false, ttlMs };
  if (mode === 'sandbox') return { secret: randomBytes(32).toString('base64url'), isEphemeral: true, ttlMs };
  return { secret: null, isEphemeral: false, ttlMs };
}

/**
 * Parses the environment into a frozen Config. Throws ConfigError naming every bad variable
 * at once, so an operator fixes them in one go instead of one restart per typo.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(
    Object.keys(envSchema.shape).map((key) => [key, emptyAsUndefined(env[key])]),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    // Values are never echoed back: a mistyped ADMIN_TOKEN or OFAUTH_API_KEY is still a secret.
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databasePath: e.DATABASE_PATH,
    database: e.DATABASE_URL
      ? { backend: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE, statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT, ssl: e.DATABASE_SSL }
      : { backend: 'sqlite', path: e.DATABASE_PATH },
    adminToken: e.ADMIN_TOKEN ?? null,
    logLevel: e.LOG_LEVEL,
    mode: e.OFAUTH_API_KEY ? 'live' : 'sandbox',
    ofauth: {
      apiKey: e.OFAUTH_API_KEY ?? null,
      baseUrl: e.OFAUTH_BASE_URL,
      endpoints: e.OFAUTH_ENDPOINTS,
      timeoutMs: e.OFAUTH_TIMEOUT,
      rateCapacity: e.OFAUTH_RATE_CAPACITY,
      refillPerSecond: e.OFAUTH_RATE_PER_MINUTE / 60,
      unsendWindowMs: e.OFAUTH_UNSEND_WINDOW,
    },
    testSend: { allowlist: e.TEST_SEND_ALLOWLIST ?? null },
    sync: {
      cron: e.SYNC_CRON,
      batch: e.SYNC_BATCH,
      leaseMs: e.LEASE_MS,
      lateSendMaxMs: e.LATE_SEND_MAX,
      lateSendPolicy: e.LATE_SEND_POLICY,
      settleMs: e.SYNC_SETTLE,
    },
    stats: { cron: e.STATS_CRON, budget: e.STATS_BUDGET, trackDays: e.STATS_TRACK_DAYS },
    instanceId: e.INSTANCE_ID ?? null,
    sandbox: { sendDurationMs: e.SANDBOX_SEND_DURATION },
    recurrence: { minIntervalMs: e.RECURRENCE_MIN_INTERVAL, leadMs: e.RECURRENCE_LEAD },
    followUps: { minAfterMs: e.FOLLOW_UP_MIN_AFTER },
    audience: { resolveLeadMs: e.AUDIENCE_RESOLVE_LEAD, maxFans: e.AUDIENCE_MAX_FANS, listsCacheTtlMs: e.LISTS_CACHE_TTL, overlapWindowMs: e.OVERLAP_WINDOW },
    session: Object.freeze(sessionSettings(e.SESSION_SECRET, e.OFAUTH_API_KEY ? 'live' : 'sandbox', e.SESSION_TTL)),
  } satisfies Config) as Config;
}

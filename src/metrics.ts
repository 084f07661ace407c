import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyInstance } from 'fastify';

/**
 * The service's Prometheus metrics, on a registry of its own (not prom-client's global one) so
 * every app and test builds a fresh set.
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    syncAttempts: new Counter({
      name: 'fanout_sync_attempts_total',
      help: 'Sync operations attempted, by operation (create, update, delete, resolve) and outcome',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    }),
    ofauthRequests: new Counter({
      name: 'fanout_ofauth_requests_total',
      help: 'Requests sent to OFAuth, by route and HTTP status (0 = no answer)',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
    }),
    ofauthRateLimited: new Counter({
      name: 'fanout_ofauth_rate_limited_total',
      help: '429 answers received from OFAuth',
      registers: [registry],
    }),
    dueBacklog: new Gauge({
      name: 'fanout_sync_due_backlog',
      help: 'Campaigns due for sync at the start of the last tick, by connection',
      labelNames: ['connection'] as const,
      registers: [registry],
    }),
    leaseTakeovers: new Counter({
      name: 'fanout_sync_lease_takeovers_total',
      help: 'Campaigns claimed after another owner\'s lease expired',
      registers: [registry],
    }),
    tickDuration: new Histogram({
      name: 'fanout_sync_tick_duration_seconds',
      help: 'Duration of sync ticks',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers: [registry],
    }),
    statsRequests: new Counter({
      name: 'fanout_stats_requests_total',
      help: 'Stats pages requested by the poller, by connection',
      labelNames: ['connection'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** GET /metrics in Prometheus text format; unauthenticated, like most scrapers expect. */
export function metricsRoute(metrics: Metrics) {
  return async (app: FastifyInstance) => {
    // Hidden from OpenAPI: it is Prometheus' text format for scrapers, not part of the JSON API.
    app.get('/metrics', { schema: { tags: ['health'], summary: 'Prometheus metrics', hide: true } }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  };
}

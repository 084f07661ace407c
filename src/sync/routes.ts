import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { campaignParamsSchema, campaignSchema } from '../campaigns/schemas.ts';
import { principalOf } from '../http/auth.ts';
import { authProblemResponses, problemResponses } from '../http/problem-responses.ts';
import type { SyncService } from './service.ts';

const security = [{ bearerAuth: [] }];

const runSchema = z.object({
  startedAt: z.iso.datetime(),
  durationMs: z.number(),
  summary: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().nullable(),
});

const syncStatusSchema = z
  .object({
    lastTick: runSchema.nullable().describe('The last sync tick (any process): its summary, or the error it ended with'),
    lastStatsRun: runSchema.nullable().describe('The last stats poll (any process): its summary, or the error it ended with'),
    backlog: z.array(z.object({ connectionId: z.string(), due: z.number() })).describe('Sends due for sync now, per connection'),
    inFlight: z.number().describe('Sends leased by a reconciler right now'),
    pausedConnections: z.array(z.object({ connectionId: z.string(), since: z.iso.datetime(), reason: z.string() })),
    scheduler: z.record(z.string(), z.unknown()).nullable(),
    instances: z
      .array(
        z.object({
          id: z.string().describe('Instance id (also its lease owner): host, pid and a random part'),
          host: z.string(),
          startedAt: z.iso.datetime(),
          lastHeartbeatAt: z.iso.datetime(),
          connectionsHeld: z.number().describe('Connections whose sync lane and stats poll this instance works now'),
        }),
      )
      .describe('Live Fanout instances on this database (heartbeat within the connection lease), oldest start first'),
  })
  .meta({
    example: {
      lastTick: { startedAt: '2030-01-01T12:00:05.000Z', durationMs: 412, summary: { claimed: 3, created: 2, updated: 1 }, error: null },
      lastStatsRun: { startedAt: '2030-01-01T12:00:00.000Z', durationMs: 230, summary: { connections: 1, requests: 3 }, error: null },
      backlog: [{ connectionId: 'conn_sandbox', due: 4 }],
      inFlight: 1,
      pausedConnections: [],
      scheduler: { isRunning: false },
      instances: [{ id: 'web-1:4242:1f3a9c2e', host: 'web-1', startedAt: '2030-01-01T08:00:00.000Z', lastHeartbeatAt: '2030-01-01T12:00:04.000Z', connectionsHeld: 1 }],
    },
  });

/** POST /v1/campaigns/:id/sync and GET /v1/sync/status. */
export function syncRoutes(sync: SyncService): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/campaigns/:id/sync', {
      schema: {
        tags: ['sync'],
        summary: "Force a sync attempt for this campaign's sends now (clears back-off and an error hold)",
        security,
        params: campaignParamsSchema,
        response: { 200: campaignSchema, ...problemResponses(404), ...authProblemResponses },
      },
      handler: async (request) => sync.syncNow(principalOf(request), request.params.id),
    });

    app.get('/sync/status', {
      schema: {
        tags: ['sync'],
        summary: 'The sync loop: last tick and stats run, due backlog per connection, in flight, paused connections, live instances',
        security,
        response: { 200: syncStatusSchema, ...authProblemResponses },
      },
      handler: async (request) => sync.status(principalOf(request)),
    });
  };
}

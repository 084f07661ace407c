import type { FastifyInstance } from 'fastify';

/** A valid create body; override any part. scheduledAt defaults to one hour after `now`. */
export function campaignBody(now: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Friday PPV drop',
    connectionId: 'conn_sandbox',
    message: { text: 'New set drops tonight', mediaItems: [4211], price: 9.99, previewMediaCount: 1 },
    audience: { userLists: [1201], excludeUserLists: [1305] },
    scheduledAt: new Date(now + 3_600_000).toISOString(),
    ...overrides,
  };
}

/** Creates a campaign through the API and returns its JSON; fails the test on anything but 201. */
export async function createCampaign(
  app: FastifyInstance,
  headers: Record<string, string>,
  body: Record<string, unknown>,
): Promise<Record<string, any>> {
  const res = await app.inject({ method: 'POST', url: '/v1/campaigns', headers, payload: body });
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

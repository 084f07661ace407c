import { createEventLog } from './campaigns/events.ts';
import { createIdempotencyStore } from './campaigns/idempotency.ts';
import { createCampaignRepository } from './campaigns/repository.ts';
import { createCampaignService } from './campaigns/service.ts';
import type { Clock } from './clock.ts';
import type { Db } from './db/client.ts';
import { createTokenRepository } from './tokens/repository.ts';
import { createTokenService } from './tokens/service.ts';

/** Wires repositories into services, explicitly; the app and the loops share one set. */
export function createServices(deps: { db: Db; clock: Clock; adminToken: string | null }) {
  const { db, clock } = deps;
  const campaignRepository = createCampaignRepository(db);
  const events = createEventLog(db);
  return {
    campaignRepository,
    events,
    campaigns: createCampaignService({ db, repository: campaignRepository, events, idempotency: createIdempotencyStore(db), clock }),
    tokens: createTokenService({ repository: createTokenRepository(db), clock, adminToken: deps.adminToken }),
  };
}

export type Services = ReturnType<typeof createServices>;

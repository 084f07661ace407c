import type { Clock } from '../clock.ts';
import type { Db } from '../db/client.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { newCampaignId } from '../ids.ts';
import { syncDueAt, syncStateAfterChange, withSyncRecomputed } from '../sync/plan.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import type { EventLog } from './events.ts';
import { hashRequest, type IdempotencyStore } from './idempotency.ts';
import type { Audience, Message } from './model.ts';
import type { CampaignChanges, CampaignRepository, CampaignRow } from './repository.ts';
import {
  findAudienceProblems,
  findMessageProblems,
  type CampaignView,
  type CreateCampaignBody,
  type ListCampaignsQuery,
  type PatchCampaignBody,
} from './schemas.ts';
import { assertActionAllowed } from './transitions.ts';
import { decodeCursor, encodeCursor, toCampaignView } from './view.ts';

export interface CampaignServiceDeps {
  db: Db;
  repository: CampaignRepository;
  events: EventLog;
  idempotency: IdempotencyStore;
  clock: Clock;
}

const CAMPAIGN_ID_PATTERN = /^cmp_[0-9A-Z]{26}$/;


function parseFutureTime(iso: string | null, now: number, path: string): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  if (ms <= now) throw new ValidationError(`${path} must be in the future`, [{ path, message: 'must be in the future' }]);
  return ms;
}

function assertValidMessageAndAudience(message: Message, audience: Audience): void {
  const problems = findAudienceProblems(audience).map((p) => ({ path: `body/audience/${p.path}`, message: p.message }));
  const messageProblem = findMessageProblems(message);
  if (messageProblem) problems.push({ path: 'body/message/previewMediaCount', message: messageProblem });
  if (problems.length > 0) throw new ValidationError(problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Campaign rules and transitions; what routes call and what the loops build on. */
export function createCampaignService(deps: CampaignServiceDeps) {
  const { db, repository, events, idempotency, clock } = deps;
  const inWriteTransaction = <T>(fn: () => T): T => db.transaction(fn, { behavior: 'immediate' });

  /** Loads a campaign the caller may see; any other answers 404 so existence never leaks. */
  function load(principal: Principal, id: string): CampaignRow {
    const row = repository.findById(id);
    if (!row || !canAccessConnection(principal, row.connectionId)) throw new NotFoundError('campaign', id);
    return row;
  }

  function write(row: CampaignRow, changes: CampaignChanges): CampaignRow {
    const now = clock.now();
    return repository.update(row.id, withSyncRecomputed(row, { ...changes, updatedAt: now }, now));
  }

  function insertCampaign(principal: Principal, body: CreateCampaignBody): CampaignRow {
    const now = clock.now();
    if (!canAccessConnection(principal, body.connectionId)) {
      throw new ForbiddenError(`This token may not use connection ${body.connectionId}.`);
    }
    const scheduledAt = parseFutureTime(body.scheduledAt, now, 'body/scheduledAt');
    const base = {
      id: newCampaignId(now),
      name: body.name,
      connectionId: body.connectionId,
      message: body.message as Message,
      audience: body.audience,
      scheduledAt,
      status: body.status,
      revision: 1,
      createdBy: principal.name,
      createdAt: now,
      updatedAt: now,
    };
    const facts = { ...base, syncedRevision: 0, remoteId: null, remoteDeletedAt: null, createStartedAt: null, syncState: 'idle' as const, nextAttemptAt: null };
    const row = repository.insert({ ...base, syncState: syncStateAfterChange(facts), syncDueAt: syncDueAt(facts, now) });
    events.append(row.id, 'created', principal.name, now, { status: row.status, revision: 1 });
    return row;
  }

  return {
    /** Creates a campaign; with an Idempotency-Key, a retry returns the first response instead. */
    create(principal: Principal, body: CreateCampaignBody, idempotencyKey?: string): { statusCode: number; body: CampaignView } {
      return inWriteTransaction(() => {
        const now = clock.now();
        const requestHash = idempotencyKey ? hashRequest(body) : '';
        if (idempotencyKey) {
          const previous = idempotency.lookup(principal.tokenId, idempotencyKey, requestHash, now);
          if (previous) return previous as { statusCode: number; body: CampaignView };
        }
        const response = { statusCode: 201, body: toCampaignView(insertCampaign(principal, body)) };
        if (idempotencyKey) idempotency.remember(principal.tokenId, idempotencyKey, requestHash, response, now);
        return response;
      });
    },

    /** The row of a campaign the caller may see; 404 otherwise. For services built on this one. */
    findAccessible: load,

    get(principal: Principal, id: string): CampaignView {
      return toCampaignView(load(principal, id));
    },

    list(principal: Principal, query: ListCampaignsQuery): { items: CampaignView[]; nextCursor: string | null } {
      let connectionIds = principal.connectionIds;
      if (query.connectionId) {
        connectionIds = canAccessConnection(principal, query.connectionId) ? [query.connectionId] : [];
      }
      const rows = repository.list({
        // De-duplicated: ?status=sent repeated a thousand times is one filter (and one cached statement).
        statuses: query.status ? [...new Set(query.status)] : undefined,
        connectionIds,
        scheduledFrom: query.scheduledFrom ? Date.parse(query.scheduledFrom) : undefined,
        scheduledTo: query.scheduledTo ? Date.parse(query.scheduledTo) : undefined,
        beforeId: query.cursor ? decodeCursor(query.cursor, CAMPAIGN_ID_PATTERN) : undefined,
        limit: query.limit + 1,
      });
      const hasMore = rows.length > query.limit;
      const page = hasMore ? rows.slice(0, query.limit) : rows;
      return { items: page.map(toCampaignView), nextCursor: hasMore ? encodeCursor(page.at(-1)!.id) : null };
    },

    update(principal: Principal, id: string, body: PatchCampaignBody): CampaignView {
      return inWriteTransaction(() => {
        const now = clock.now();
        const row = load(principal, id);
        assertActionAllowed('edit', row, now);
        const message = body.message ? ({ ...row.message, ...body.message } as Message) : row.message;
        const audience = body.audience ? { ...row.audience, ...body.audience } : row.audience;
        assertValidMessageAndAudience(message, audience);
        const scheduledAt = body.scheduledAt === undefined ? row.scheduledAt : parseFutureTime(body.scheduledAt, now, 'body/scheduledAt');

        const changed: string[] = [];
        if (body.name !== undefined && body.name !== row.name) changed.push('name');
        if (!sameJson(message, row.message)) changed.push('message');
        if (!sameJson(audience, row.audience)) changed.push('audience');
        if (scheduledAt !== row.scheduledAt) changed.push('scheduledAt');
        if (changed.length === 0) return toCampaignView(row);

        const isContentChange = changed.some((f) => f !== 'name');
        const changes: CampaignChanges = { name: body.name ?? row.name, message, audience, scheduledAt };
        if (isContentChange) {
          // A new revision is new work: forget the old one's failures and back-off.
          Object.assign(changes, { revision: row.revision + 1, attempts: 0, lastError: null, nextAttemptAt: null });
          if (row.syncState === 'error') changes.syncState = 'pending';
        }
        const updated = write(row, changes);
        events.append(id, 'updated', principal.name, now, { fields: changed, revision: updated.revision });
        return toCampaignView(updated);
      });
    },

    schedule(principal: Principal, id: string): CampaignView {
      return inWriteTransaction(() => {
        const now = clock.now();
        const row = load(principal, id);
        assertActionAllowed('schedule', row, now);
        if (row.scheduledAt !== null && row.scheduledAt <= now) {
          throw new ConflictError('send_time_passed', 'scheduledAt has passed; set a future scheduledAt (or null to send now) before scheduling.');
        }
        const updated = write(row, { status: 'scheduled' });
        events.append(id, 'scheduled', principal.name, now, { scheduledAt: updated.scheduledAt });
        return toCampaignView(updated);
      });
    },

    cancel(principal: Principal, id: string): CampaignView {
      return inWriteTransaction(() => {
        const now = clock.now();
        const row = load(principal, id);
        assertActionAllowed('cancel', row, now);
        const updated = write(row, { status: 'canceled', nextAttemptAt: null, attempts: 0 });
        events.append(id, 'canceled', principal.name, now, { from: row.status, remoteDeletePending: updated.syncDueAt !== null });
        return toCampaignView(updated);
      });
    },

    remove(principal: Principal, id: string): void {
      inWriteTransaction(() => {
        const now = clock.now();
        const row = load(principal, id);
        assertActionAllowed('delete', row, now);
        // Forgetting a campaign whose remote copy is still being created or deleted would leave a
        // mass message in OFAuth's queue that nothing tracks any more.
        const isLeased = row.leaseOwner !== null && (row.leaseExpiresAt ?? 0) > now;
        if (row.syncDueAt !== null || isLeased) {
          throw new ConflictError('sync_in_progress', 'The remote copy of this campaign is still being created or deleted; try again once sync.state is settled.');
        }
        repository.delete(id);
        events.append(id, 'deleted', principal.name, now);
      });
    },

    events(principal: Principal, id: string, query: { limit: number; cursor?: string }) {
      load(principal, id);
      const afterId = query.cursor ? Number(decodeCursor(query.cursor, /^\d+$/)) : 0;
      const rows = events.list(id, afterId, query.limit + 1);
      const hasMore = rows.length > query.limit;
      const page = hasMore ? rows.slice(0, query.limit) : rows;
      return {
        items: page.map((e) => ({ id: e.id, type: e.type, actor: e.actor, at: new Date(e.at).toISOString(), data: e.data ?? null })),
        nextCursor: hasMore ? encodeCursor(page.at(-1)!.id) : null,
      };
    },
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;

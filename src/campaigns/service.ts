import type { OverlapSubject } from '../audience/overlaps.ts';
import type { OverlapView } from '../audience/schemas.ts';
import type { Clock } from '../clock.ts';
import type { EventSpec } from '../events/types.ts';
import { ForbiddenError, NotFoundError, ValidationError, type FieldProblem } from '../errors.ts';
import { CAMPAIGN_ID_PATTERN, newCampaignId } from '../ids.ts';
import type { NewSend } from '../sends/model.ts';
import type { CampaignMutation, CampaignRecord, CampaignState, CampaignStore } from '../store/types.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import { decideCancel, decideEdit, decidePause, decideRemove, decideResume, decideSchedule, decideSyncNow, oneShotSend, seriesStart, type DecideContext, type EditedPlan } from './decide.ts';
import { FOLLOW_UP_MIN_AFTER_MS, findFollowUpProblems, findFollowUpTimingProblems, sortFollowUps, toFollowUp } from './follow-ups.ts';
import { hashRequest } from './idempotency.ts';
import { normalizeAudience, type Audience, type Campaign, type FollowUp, type Message, type Recurrence } from './model.ts';
import { findRecurrenceProblems } from './recurrence.ts';
import {
  findAudienceProblems,
  findMessageProblems,
  type CampaignView,
  type CreateCampaignBody,
  type ListCampaignsQuery,
  type PatchCampaignBody,
} from './schemas.ts';
import { decodeCursor, encodeCursor, toCampaignView, toEventView } from './view.ts';

export interface CampaignServiceSettings {
  /** RECURRENCE_MIN_INTERVAL: occurrences closer than this are refused. */
  minIntervalMs: number;
  /** OFAUTH_UNSEND_WINDOW: message.unsendAfter may not exceed it (default 24 h). */
  unsendWindowMs?: number;
  /** FOLLOW_UP_MIN_AFTER: a follow-up's `after` may not be shorter (default 1 h). */
  followUpMinAfterMs?: number;
}

/** What the campaign rules ask of audiences (src/audience/): OFAuth's lists, and overlaps. */
export interface AudienceChecks {
  /** List ids OFAuth does not have on the connection; null when OFAuth could not be asked. */
  findUnknownLists(connectionId: string, ids: readonly number[]): Promise<number[] | null>;
  /** Other campaigns' sends that would reach the same fans around the same time. */
  findOverlaps(subject: OverlapSubject): Promise<OverlapView[]>;
}

export interface CampaignServiceDeps {
  campaigns: CampaignStore;
  clock: Clock;
  settings: CampaignServiceSettings;
  /** Without it, lists are not checked against OFAuth and no warnings are given. */
  audience?: AudienceChecks;
}

/** A create or PATCH answer: the campaign, with overlaps as `warnings` when there are any. */
export type CampaignViewWithWarnings = CampaignView & { warnings?: OverlapView[] };

function fail(problems: FieldProblem[]): never {
  throw new ValidationError(problems.map((p) => `${p.path}: ${p.message}`).join('; '), problems);
}

function parseFutureTime(iso: string | null, now: number, path: string): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  if (ms <= now) fail([{ path, message: 'must be in the future' }]);
  return ms;
}

/** A series' start may be in the past (it then starts now); a one-shot's send time may not. */
function parseStart(iso: string | null, isSeries: boolean, now: number): number | null {
  return isSeries ? (iso === null ? null : Date.parse(iso)) : parseFutureTime(iso, now, 'body/scheduledAt');
}

function assertValidMessageAndAudience(message: Message, audience: Audience): void {
  const problems = findAudienceProblems(audience).map((p) => ({ path: `body/audience/${p.path}`, message: p.message }));
  const messageProblem = findMessageProblems(message);
  if (messageProblem) problems.push({ path: 'body/message/previewMediaCount', message: messageProblem });
  if (problems.length > 0) fail(problems);
}

function assertValidFollowUps(message: Message, followUps: FollowUp[] | null): void {
  const problems = findFollowUpProblems(message, followUps);
  if (problems.length > 0) fail(problems);
}

type RecurrenceBody = NonNullable<CreateCampaignBody['recurrence']>;

const toRecurrence = (body: RecurrenceBody): Recurrence => ({
  cron: body.cron,
  timezone: body.timezone,
  endsAt: body.endsAt === null ? null : Date.parse(body.endsAt),
  maxOccurrences: body.maxOccurrences,
});

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Campaign rules and transitions: what routes call and what the loops build on. */
export function createCampaignService(deps: CampaignServiceDeps) {
  const { campaigns: store, clock, settings } = deps;

  function assertValidUnsendAfter(message: Message): void {
    const windowMs = settings.unsendWindowMs ?? 24 * 3_600_000;
    const seconds = message.unsendAfter ?? null;
    if (seconds !== null && seconds * 1000 > windowMs) {
      fail([{ path: 'body/message/unsendAfter', message: `unsendAfter (${seconds} s) is longer than OFAuth's unsend window (${Math.round(windowMs / 1000)} s, OFAUTH_UNSEND_WINDOW)` }]);
    }
  }

  /** Checked on the body as sent, so each problem names the follow-up by its place there. */
  function assertValidFollowUpTiming(followUps: Array<{ after: number }> | undefined): void {
    const problems = findFollowUpTimingProblems(followUps, settings.followUpMinAfterMs ?? FOLLOW_UP_MIN_AFTER_MS);
    if (problems.length > 0) fail(problems);
  }

  function assertValidRecurrence(recurrence: Recurrence | null, now: number): void {
    if (recurrence === null) return;
    const problems = findRecurrenceProblems(recurrence, { minIntervalMs: settings.minIntervalMs, now });
    if (problems.length > 0) fail(problems.map((p) => ({ path: `body/recurrence/${p.path}`, message: p.message })));
  }

  /** The record if the caller may see its campaign; any other answers 404 so existence never leaks. */
  function accessible<R extends { campaign: { connectionId: string } }>(principal: Principal, id: string, record: R | null): R {
    if (!record || !canAccessConnection(principal, record.campaign.connectionId)) throw new NotFoundError('campaign', id);
    return record;
  }

  /** Loads a campaign the caller may see (see accessible). */
  async function findAccessible(principal: Principal, id: string): Promise<CampaignRecord> {
    return accessible(principal, id, await store.find(id));
  }

  /** Runs a decision on the campaign inside the store's transaction, 404 for one the caller may not see. */
  async function mutate(principal: Principal, id: string, decide: (state: CampaignState, ctx: DecideContext) => CampaignMutation): Promise<CampaignRecord> {
    const now = clock.now();
    const record = await store.mutate(id, now, (state) => {
      if (!canAccessConnection(principal, state.campaign.connectionId)) throw new NotFoundError('campaign', id);
      return decide(state, { now, actor: principal.name });
    });
    if (!record) throw new NotFoundError('campaign', id);
    return record;
  }

  /**
   * A 400 naming each list OFAuth does not have, when its lists could be read; accepted
   * unchecked when they could not (an error, a timeout, a paused connection): sync finds out.
   */
  async function assertListsKnown(connectionId: string, audience: { userLists?: number[]; excludeUserLists?: number[] }): Promise<void> {
    if (!deps.audience) return;
    const fields = (['userLists', 'excludeUserLists'] as const).filter((field) => (audience[field]?.length ?? 0) > 0);
    if (fields.length === 0) return;
    const unknown = await deps.audience.findUnknownLists(connectionId, fields.flatMap((field) => audience[field]!));
    if (unknown === null || unknown.length === 0) return;
    const missing = new Set(unknown);
    fail(
      fields.flatMap((field) => {
        const ids = audience[field]!.filter((id) => missing.has(id));
        return ids.length === 0 ? [] : [{ path: `body/audience/${field}`, message: `OFAuth has no list ${ids.join(', ')} on connection ${connectionId}` }];
      }),
    );
  }

  /** The view with overlapping sends as warnings (none: the view unchanged). */
  async function withWarnings(view: CampaignView): Promise<CampaignViewWithWarnings> {
    if (!deps.audience) return view;
    const plannedAt = Date.parse(view.nextOccurrenceAt ?? view.scheduledAt ?? '') || clock.now();
    const warnings = await deps.audience.findOverlaps({ campaignId: view.id, connectionId: view.connectionId, audience: view.audience as Audience, plannedAt });
    return warnings.length > 0 ? { ...view, warnings } : view;
  }

  function build(principal: Principal, body: CreateCampaignBody, now: number): { campaign: Campaign; sends: NewSend[]; events: EventSpec[] } {
    if (!canAccessConnection(principal, body.connectionId)) throw new ForbiddenError(`This token may not use connection ${body.connectionId}.`);
    const recurrence = body.recurrence === null ? null : toRecurrence(body.recurrence);
    assertValidRecurrence(recurrence, now);
    assertValidFollowUpTiming(body.followUps);
    const followUps = sortFollowUps(body.followUps.map(toFollowUp));
    assertValidFollowUps(body.message as Message, followUps);
    assertValidUnsendAfter(body.message as Message);
    const draft: Campaign = {
      id: newCampaignId(now),
      name: body.name,
      connectionId: body.connectionId,
      message: body.message as Message,
      audience: normalizeAudience(body.audience),
      scheduledAt: parseStart(body.scheduledAt, recurrence !== null, now),
      recurrence,
      followUps,
      followUpCount: followUps?.length ?? 0,
      followUpsCanceledAt: null,
      status: body.status,
      revision: 1,
      failureReason: null,
      createdBy: principal.name,
      createdAt: now,
      updatedAt: now,
      seriesCursorAt: null,
      occurrenceCount: 0,
      nextOccurrenceAt: null,
      missedBefore: null,
      seriesDueAt: null,
    };
    const isRunning = body.status === 'scheduled';
    const campaign = isRunning && recurrence !== null ? { ...draft, ...seriesStart(draft, now) } : draft;
    if (recurrence !== null && isRunning && campaign.nextOccurrenceAt === null) {
      fail([{ path: 'body/recurrence', message: 'the series has no occurrence between its start and endsAt' }]);
    }
    const sends = isRunning && recurrence === null ? [oneShotSend(campaign, now)] : [];
    return { campaign, sends, events: [{ type: 'created', actor: principal.name, data: { status: campaign.status, revision: 1 } }] };
  }

  /** The plan a PATCH asks for, merged onto the campaign and validated; `changed` names what differs. */
  function planEdit(campaign: Campaign, body: PatchCampaignBody, now: number): EditedPlan {
    const message = body.message ? ({ ...campaign.message, ...body.message } as Message) : campaign.message;
    const audience = body.audience ? normalizeAudience({ ...campaign.audience, ...body.audience }) : campaign.audience;
    assertValidMessageAndAudience(message, audience);
    assertValidUnsendAfter(message);
    const recurrence = body.recurrence === undefined ? campaign.recurrence : body.recurrence === null ? null : toRecurrence(body.recurrence);
    if (body.recurrence !== undefined) assertValidRecurrence(recurrence, now);
    const scheduledAt = body.scheduledAt === undefined ? campaign.scheduledAt : parseStart(body.scheduledAt, recurrence !== null, now);
    assertValidFollowUpTiming(body.followUps);
    const followUps: FollowUp[] | null = body.followUps === undefined ? campaign.followUps : sortFollowUps(body.followUps.map(toFollowUp));
    assertValidFollowUps(message, followUps);
    const changed: string[] = [];
    if (body.name !== undefined && body.name !== campaign.name) changed.push('name');
    if (!sameJson(message, campaign.message)) changed.push('message');
    if (!sameJson(audience, campaign.audience)) changed.push('audience');
    if (scheduledAt !== campaign.scheduledAt) changed.push('scheduledAt');
    if (!sameJson(recurrence, campaign.recurrence)) changed.push('recurrence');
    if (!sameJson(followUps, campaign.followUps)) changed.push('followUps');
    return { name: body.name ?? campaign.name, message, audience, scheduledAt, recurrence, followUps, changed };
  }

  return {
    /** Creates a campaign; with an Idempotency-Key, a retry returns the first response instead. */
    async create(principal: Principal, body: CreateCampaignBody, idempotencyKey?: string): Promise<{ statusCode: number; body: CampaignViewWithWarnings }> {
      // Scope first: a list check must not tell a caller about a connection it may not use.
      if (!canAccessConnection(principal, body.connectionId)) throw new ForbiddenError(`This token may not use connection ${body.connectionId}.`);
      await assertListsKnown(body.connectionId, body.audience);
      const now = clock.now();
      const response = await store.create({
        now,
        idempotency: idempotencyKey ? { tokenId: principal.tokenId, key: idempotencyKey, requestHash: hashRequest(body) } : null,
        build: () => build(principal, body, now),
        respond: (record) => ({ statusCode: 201, body: toCampaignView(record) }),
      });
      const stored = response as { statusCode: number; body: CampaignView };
      return { statusCode: stored.statusCode, body: await withWarnings(stored.body) };
    },

    /** What a create would make of this body, validated the same way, without storing anything. */
    draft(principal: Principal, body: CreateCampaignBody): { campaign: Campaign; sends: NewSend[] } {
      const { campaign, sends } = build(principal, body, clock.now());
      return { campaign, sends };
    },

    /** The campaign (and its one-shot send) if the caller may see it; 404 otherwise. For services built on this one. */
    findAccessible,

    async get(principal: Principal, id: string): Promise<CampaignView> {
      // Only the columns the view shows: GET /v1/campaigns/{id} is the API's hottest read.
      return toCampaignView(accessible(principal, id, await store.findView(id)));
    },

    /** `nameContains` is the dashboard's search; the API's query schema does not offer it. */
    async list(principal: Principal, query: ListCampaignsQuery & { nameContains?: string }): Promise<{ items: CampaignView[]; nextCursor: string | null }> {
      let connectionIds = principal.connectionIds;
      if (query.connectionId) connectionIds = canAccessConnection(principal, query.connectionId) ? [query.connectionId] : [];
      // Only the columns a view shows: a page read whole costs twice as much (see listViews).
      const rows = await store.listViews({
        // De-duplicated: ?status=sent repeated a thousand times is one filter (and one cached statement).
        statuses: query.status ? [...new Set(query.status)] : undefined,
        connectionIds,
        scheduledFrom: query.scheduledFrom ? Date.parse(query.scheduledFrom) : undefined,
        scheduledTo: query.scheduledTo ? Date.parse(query.scheduledTo) : undefined,
        nameContains: query.nameContains || undefined,
        beforeId: query.cursor ? decodeCursor(query.cursor, CAMPAIGN_ID_PATTERN) : undefined,
        limit: query.limit + 1,
      });
      const hasMore = rows.length > query.limit;
      const page = hasMore ? rows.slice(0, query.limit) : rows;
      return { items: page.map(toCampaignView), nextCursor: hasMore ? encodeCursor(page.at(-1)!.campaign.id) : null };
    },

    async update(principal: Principal, id: string, body: PatchCampaignBody): Promise<CampaignViewWithWarnings> {
      if (body.audience?.userLists?.length || body.audience?.excludeUserLists?.length) {
        await assertListsKnown((await findAccessible(principal, id)).campaign.connectionId, body.audience);
      }
      const now = clock.now();
      const view = toCampaignView(await mutate(principal, id, (state, ctx) => decideEdit(state, planEdit(state.campaign, body, now), ctx)));
      return withWarnings(view);
    },

    async schedule(principal: Principal, id: string): Promise<CampaignView> {
      return toCampaignView(await mutate(principal, id, decideSchedule));
    },

    async cancel(principal: Principal, id: string): Promise<CampaignView> {
      return toCampaignView(await mutate(principal, id, decideCancel));
    },

    async pause(principal: Principal, id: string): Promise<CampaignView> {
      return toCampaignView(await mutate(principal, id, decidePause));
    },

    async resume(principal: Principal, id: string): Promise<CampaignView> {
      return toCampaignView(await mutate(principal, id, decideResume));
    },

    async remove(principal: Principal, id: string): Promise<void> {
      await mutate(principal, id, decideRemove);
    },

    /** Makes the campaign's sends due now, clearing back-off and an error hold (the sync service runs the pass). */
    async requestSync(principal: Principal, id: string): Promise<CampaignRecord> {
      return mutate(principal, id, decideSyncNow);
    },

    async events(principal: Principal, id: string, query: { limit: number; cursor?: string }) {
      await findAccessible(principal, id);
      const afterId = query.cursor ? Number(decodeCursor(query.cursor, /^\d+$/)) : 0;
      const rows = await store.events(id, afterId, query.limit + 1);
      const hasMore = rows.length > query.limit;
      const page = hasMore ? rows.slice(0, query.limit) : rows;
      return { items: page.map(toEventView), nextCursor: hasMore ? encodeCursor(page.at(-1)!.id) : null };
    },
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;

import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatAfter } from '../../campaigns/follow-ups.ts';
import type { ChatFilter } from '../../campaigns/model.ts';
import { createCampaignBodySchema, patchCampaignBodySchema, type CampaignView } from '../../campaigns/schemas.ts';
import { AppError } from '../../errors.ts';
import { CAMPAIGN_ID_PATTERN } from '../../ids.ts';
import { emptyForm, FIELD_IDS, formOf, isFollowUpEditable, noErrors, placeProblems, readForm, toBody, zodProblems, type CampaignForm, type FormErrors } from '../campaign-form.ts';
import { flashWarnings } from '../overlaps.ts';
import type { Dashboard } from '../plugin.ts';
import { editedBody, previewOf, type FormPreview } from '../preview.ts';
import { timeZones } from '../time.ts';
import { canEdit } from '../campaign-page.ts';
import { connectionChoices } from './connections.ts';

const CONNECTION_PATTERN = /^conn_[A-Za-z0-9_-]{1,120}$/;
/** A form waits this long for OFAuth's lists (cached LISTS_CACHE_TTL once read), then offers id fields. */
const LISTS_WAIT_MS = 2_000;

/**
 * The connection's lists by name with their sizes, for ticking instead of typing ids; null
 * when there is no connection (yet) to read, `unavailable` when OFAuth could not be asked.
 */
export type ListCatalogHelp = { lists: Array<{ id: string; name: string; size: number | null }>; readAt: string } | { unavailable: string } | null;

/** The new and edit form: one form, the API's rules, its problems next to the fields they name. */
export function campaignFormRoutes(dashboard: Dashboard) {
  const { services } = dashboard.fanout;

  async function listCatalog(request: FastifyRequest, connectionId: string): Promise<ListCatalogHelp> {
    if (!CONNECTION_PATTERN.test(connectionId)) return null;
    try {
      const read = await services.audience.lists(request.dashboard!.principal, connectionId, { signal: AbortSignal.timeout(LISTS_WAIT_MS) });
      return { lists: read.items.map((l) => ({ id: String(l.id), name: l.name, size: l.size })), readAt: read.readAt };
    } catch (error) {
      // Out of scope: say nothing about that connection. The create itself then refuses it.
      if (error instanceof AppError && error.status === 404) return null;
      if (error instanceof AppError) return { unavailable: error.message };
      throw error;
    }
  }

  async function showForm(
    request: FastifyRequest,
    reply: FastifyReply,
    input: { form: CampaignForm; errors: FormErrors; campaign: CampaignView | null; formKey: string; preview?: FormPreview },
    status = 200,
  ) {
    const { principal } = request.dashboard!;
    const connections = connectionChoices(dashboard, principal);
    const campaign = input.campaign;
    const fieldErrors = Object.keys(input.errors.byField).length + input.errors.general.length;
    // A refused form comes back laid out as it was sent: typed list ids stay a text field. A
    // fresh form, or a Preview, picks lists by name when OFAuth's can be read.
    const posted = (request.body ?? {}) as Record<string, unknown>;
    const isIdsPicker = request.method === 'POST' && posted.listPicker === 'ids' && posted.intent !== 'preview';
    return dashboard.render(
      request,
      reply,
      'campaign-form',
      {
        title: campaign ? `Edit ${campaign.name}` : 'New campaign',
        nav: campaign ? 'campaigns' : 'new',
        ...input,
        ids: FIELD_IDS,
        hasErrors: fieldErrors > 0,
        connections,
        zones: timeZones,
        // A series cannot become a one-shot (nor the reverse) once it has run.
        isKindLocked: campaign !== null && campaign.status !== 'draft',
        catalog: isIdsPicker ? null : await listCatalog(request, input.form.connectionId),
        chatFilterChoices: CHAT_FILTER_CHOICES,
        isFollowUpEditable: isFollowUpEditable(campaign),
        followUpMinAfter: formatAfter(dashboard.fanout.config.followUps.minAfterMs),
        preview: input.preview ?? null,
      },
      status,
    );
  }

  async function editable(request: FastifyRequest, id: string): Promise<CampaignView> {
    if (!CAMPAIGN_ID_PATTERN.test(id)) throw new AppError(404, 'not_found', 'Not found', `No campaign with id ${id}.`);
    const campaign = await services.campaigns.get(request.dashboard!.principal, id);
    if (!canEdit(campaign)) throw new AppError(409, 'invalid_state', 'This campaign cannot be edited', `A ${campaign.status} campaign cannot be edited.`);
    return campaign;
  }

  return async (app: FastifyInstance) => {
    app.get('/campaigns/new', async (request, reply) => {
      const { principal, timeZone } = request.dashboard!;
      const only = principal.connectionIds?.length === 1 ? principal.connectionIds[0] : '';
      return showForm(request, reply, { form: emptyForm(timeZone, only), errors: noErrors(), campaign: null, formKey: randomUUID() });
    });

    app.post('/campaigns/new', async (request, reply) => {
      const { principal, timeZone } = request.dashboard!;
      const raw = (request.body ?? {}) as Record<string, unknown>;
      const form = readForm(raw, timeZone);
      const formKey = typeof raw.formKey === 'string' && /^[0-9a-f-]{36}$/.test(raw.formKey) ? raw.formKey : randomUUID();
      const { body, problems } = toBody(form);
      const parsed = createCampaignBodySchema.safeParse({ ...body, status: raw.intent === 'draft' ? 'draft' : 'scheduled' });
      const all = [...problems, ...(parsed.success ? [] : zodProblems(parsed.error))];
      if (all.length > 0 || !parsed.success) return showForm(request, reply, { form, errors: placeProblems(all), campaign: null, formKey }, 400);
      try {
        if (raw.intent === 'preview') {
          const preview = previewOf(await services.audience.preview(principal, parsed.data), null);
          return showForm(request, reply, { form, errors: noErrors(), campaign: null, formKey, preview });
        }
        // The form's key makes a double submit (or a retry after a lost answer) one campaign.
        const created = await services.campaigns.create(principal, parsed.data, `dashboard:${formKey}`);
        flashWarnings(request, created.body.id, created.body.warnings);
        return reply.redirect(`/campaigns/${created.body.id}?notice=created`, 303);
      } catch (error) {
        if (error instanceof AppError && error.status < 500) return showForm(request, reply, { form, errors: placeProblems(error.errors ?? [], error.message), campaign: null, formKey }, error.status);
        throw error;
      }
    });

    app.get('/campaigns/:id/edit', async (request, reply) => {
      const campaign = await editable(request, (request.params as { id: string }).id);
      return showForm(request, reply, { form: formOf(campaign, request.dashboard!.timeZone), errors: noErrors(), campaign, formKey: '' });
    });

    app.post('/campaigns/:id/edit', async (request, reply) => {
      const { principal, timeZone } = request.dashboard!;
      const campaign = await editable(request, (request.params as { id: string }).id);
      const before = formOf(campaign, timeZone);
      const posted = readForm(request.body, timeZone);
      const isKindLocked = campaign.status !== 'draft';
      const form: CampaignForm = { ...posted, connectionId: campaign.connectionId, scheduleKind: isKindLocked && (campaign.recurrence !== null) !== (posted.scheduleKind === 'series') ? before.scheduleKind : posted.scheduleKind };
      const { body, problems } = toBody(form);
      const patch: Record<string, unknown> = { name: body.name, message: body.message, audience: body.audience };
      const followUp = followUpPatch(campaign, before, form, body.followUps as Array<{ message: object }>);
      if (followUp !== undefined) patch.followUps = followUp;
      // A time shown to the minute and sent back unchanged is not a change (nor "in the past").
      const isTimeUnchanged = form.scheduleKind === before.scheduleKind && form.scheduledAt === before.scheduledAt && form.timeZone === before.timeZone;
      if (!isTimeUnchanged) patch.scheduledAt = body.scheduledAt;
      const isSeries = form.scheduleKind === 'series';
      const isRecurrenceUnchanged = isTimeUnchanged && form.cron === before.cron && form.endsAt === before.endsAt && form.maxOccurrences === before.maxOccurrences;
      if ((isSeries || campaign.recurrence !== null) && !isRecurrenceUnchanged) {
        const recurrence = body.recurrence as Record<string, unknown> | null;
        // An unchanged end keeps its exact instant rather than the minute the form shows.
        if (recurrence && form.endsAt === before.endsAt && form.timeZone === before.timeZone) recurrence.endsAt = campaign.recurrence?.endsAt ?? null;
        patch.recurrence = recurrence;
      }
      const parsed = patchCampaignBodySchema.safeParse(patch);
      const all = [...problems.filter((p) => p.path !== 'body/scheduledAt' || !isTimeUnchanged), ...(parsed.success ? [] : zodProblems(parsed.error))];
      if (all.length > 0 || !parsed.success) return showForm(request, reply, { form, errors: placeProblems(all), campaign, formKey: '' }, 400);
      if (raw(request).intent === 'preview') {
        // The campaign as the edit would leave it, as a create body: what preview takes.
        const edited = createCampaignBodySchema.safeParse(editedBody(campaign, patch));
        try {
          if (!edited.success) return showForm(request, reply, { form, errors: placeProblems(zodProblems(edited.error)), campaign, formKey: '' }, 400);
          const preview = previewOf(await services.audience.preview(principal, edited.data), campaign.id);
          return showForm(request, reply, { form, errors: noErrors(), campaign, formKey: '', preview });
        } catch (error) {
          if (error instanceof AppError && error.status < 500) return showForm(request, reply, { form, errors: placeProblems(error.errors ?? [], error.message), campaign, formKey: '' }, error.status);
          throw error;
        }
      }
      try {
        flashWarnings(request, campaign.id, (await services.campaigns.update(principal, campaign.id, parsed.data)).warnings);
      } catch (error) {
        if (error instanceof AppError && error.status < 500) return showForm(request, reply, { form, errors: placeProblems(error.errors ?? [], error.message), campaign, formKey: '' }, error.status);
        throw error;
      }
      if (raw(request).intent === 'schedule' && campaign.status === 'draft') {
        try {
          await services.campaigns.schedule(principal, campaign.id);
        } catch (error) {
          if (error instanceof AppError && error.status < 500) return showForm(request, reply, { form, errors: placeProblems(error.errors ?? [], error.message), campaign, formKey: '' }, error.status);
          throw error;
        }
        return reply.redirect(`/campaigns/${campaign.id}?notice=schedule`, 303);
      }
      return reply.redirect(`/campaigns/${campaign.id}?notice=updated`, 303);
    });
  };
}

const raw = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>;

const CHAT_FILTER_CHOICES: Array<{ value: ChatFilter; label: string }> = [
  { value: 'priority', label: 'Priority chats' },
  { value: 'unread', label: 'Unread chats' },
  { value: 'who_tipped', label: 'Fans who tipped' },
];

/**
 * The follow-ups a PATCH sends: undefined (left alone) when the form's follow-up is unchanged
 * or the campaign has more than the form edits. An edited one keeps the rest of its message
 * (media, preview count), as the form edits only its text and price.
 */
function followUpPatch(campaign: CampaignView, before: CampaignForm, form: CampaignForm, followUps: Array<{ message: object }>): unknown[] | undefined {
  if (!isFollowUpEditable(campaign)) return undefined;
  const isUnchanged = form.followUpAfter === before.followUpAfter && form.followUpText === before.followUpText && form.followUpPrice === before.followUpPrice;
  if (isUnchanged) return undefined;
  const kept = campaign.followUps?.[0]?.message;
  return followUps.map((f) => (kept ? { ...f, message: { ...kept, ...f.message } } : f));
}

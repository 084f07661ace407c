import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createCampaignBodySchema, patchCampaignBodySchema, type CampaignView } from '../../campaigns/schemas.ts';
import { AppError } from '../../errors.ts';
import { emptyForm, FIELD_IDS, formOf, noErrors, placeProblems, readForm, toBody, zodProblems, type CampaignForm, type FormErrors } from '../campaign-form.ts';
import type { Dashboard } from '../plugin.ts';
import { timeZones } from '../time.ts';
import { canEdit } from '../campaign-page.ts';
import { connectionChoices } from './connections.ts';

const ID_PATTERN = /^cmp_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * The seam for the audience helpers of the seed-workflows issue (issue 10): the connection's
 * lists by name with their sizes, the estimated audience and overlap warnings. Until the
 * service can read them, the form takes list ids and shows none of these.
 */
export interface AudienceHelp {
  lists: Array<{ id: number; name: string; size: number | null }>;
  estimate: number | null;
  warnings: string[];
}
async function audienceHelpFor(_connectionId: string): Promise<AudienceHelp | null> {
  return null;
}

/** The new and edit form: one form, the API's rules, its problems next to the fields they name. */
export function campaignFormRoutes(dashboard: Dashboard) {
  const { services } = dashboard.fanout;

  async function showForm(
    request: FastifyRequest,
    reply: FastifyReply,
    input: { form: CampaignForm; errors: FormErrors; campaign: CampaignView | null; formKey: string },
    status = 200,
  ) {
    const { principal } = request.dashboard!;
    const connections = connectionChoices(dashboard, principal);
    const campaign = input.campaign;
    const fieldErrors = Object.keys(input.errors.byField).length + input.errors.general.length;
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
        audienceHelp: await audienceHelpFor(input.form.connectionId),
      },
      status,
    );
  }

  async function editable(request: FastifyRequest, id: string): Promise<CampaignView> {
    if (!ID_PATTERN.test(id)) throw new AppError(404, 'not_found', 'Not found', `No campaign with id ${id}.`);
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
        // The form's key makes a double submit (or a retry after a lost answer) one campaign.
        const created = await services.campaigns.create(principal, parsed.data, `dashboard:${formKey}`);
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
      try {
        await services.campaigns.update(principal, campaign.id, parsed.data);
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

import type { SimMessage, Simulator } from '../../../src/ofauth/simulator/app.ts';
import { expectStatus, type Api } from './api.ts';
import type { CampaignModel, CampaignPlan } from './workload.ts';

/*
 * The crash test's follow-up scenario: PPV one-shots due within a minute, each with a follow-up
 * to its non-buyers one minute after it went out (fan ids alone, or lists, which take a buyers
 * list), and free ones unsent by message.unsendAfter one minute after. The server is SIGKILLed
 * throughout, so kills land in buyers reads, list creates and adds, follow-up creates and
 * unsends. After convergence: one follow-up per original, never to a buyer, one buyers list per
 * follow-up, every due unsend done once and not early, and no remote message without an owner.
 */

export type FollowUpScenarioKind = 'fan_ids' | 'buyers_list' | 'unsend';

/** Server settings the scenario needs: follow-ups and unsends a minute out, stats seen each second. */
export const FOLLOW_UP_ENV = { FOLLOW_UP_MIN_AFTER: '1m', STATS_CRON: '* * * * * *', STATS_BUDGET: '0.5' } as const;

/** Simulator settings: sent in 2 s, and views (so buyers) saturated seconds later, long before the follow-up is due. */
export const FOLLOW_UP_SIM = { sendDurationMs: 2_000, viewTimeConstantMs: 2_000 } as const;

export const AFTER_MS = 60_000;
const KINDS: FollowUpScenarioKind[] = ['fan_ids', 'buyers_list', 'unsend'];

export interface FollowUpPlan extends CampaignPlan {
  kind: FollowUpScenarioKind;
  followUpText: string | null;
}

/** Campaign scripts (a create each), `startInMs` and 3 s apart, in the order fan ids, lists, unsend. */
export function planFollowUpCampaigns(options: { seed: number; count: number; first: number; connectionId: string; now: number; startInMs: number }): FollowUpPlan[] {
  const base = Math.ceil((options.now + options.startInMs) / 1000) * 1000;
  return Array.from({ length: options.count }, (_, n) => {
    const index = options.first + n;
    const kind = KINDS[n % KINDS.length]!;
    const followUpText = kind === 'unsend' ? null : `Crash run ${options.seed} follow-up of c${index}`;
    const audience = kind === 'buyers_list' ? { userLists: [2], excludeUserLists: [4] } : { userIds: Array.from({ length: 40 }, (_, k) => 70_000 + index * 100 + k) };
    return {
      index,
      kind,
      followUpText,
      connectionId: options.connectionId,
      idempotencyKey: `crash-fu-${options.seed}-${index}`,
      name: `crash ${kind} c${index}`,
      scheduledAt: new Date(base + n * 3_000).toISOString(),
      price: kind === 'unsend' ? 0 : 9.99,
      texts: [`Crash run ${options.seed} original c${index}`],
      cancel: false,
      operations: [{ kind: 'create' }],
      recurrence: null,
      extras: {
        audience,
        ...(kind === 'unsend' ? { message: { unsendAfter: '1m' } } : { followUps: [{ after: '1m', audience: 'non_buyers', message: { text: followUpText, price: 4.99 } }] }),
      },
    };
  });
}

/** The latest moment anything in the plans is due (the last unsend or follow-up), epoch ms. */
export const lastDueAt = (plans: FollowUpPlan[], sendDurationMs: number) => Math.max(...plans.map((p) => Date.parse(p.scheduledAt))) + sendDurationMs + AFTER_MS;

export interface FollowUpSendView {
  id: string;
  kind: string;
  status: string;
  reason: string | null;
  sentAt: string | null;
  unsend: { dueAt: string | null; unsentAt: string | null } | null;
  sync: { state: string; remoteId: string | null };
  followUp?: { parentSendId: string; path: string; buyersListId: number | null; buyers: number | null };
}

export interface ScenarioCampaign {
  model: CampaignModel & { plan: FollowUpPlan };
  sends: FollowUpSendView[];
  /** Types of each send's events, by send id. */
  eventTypes: Map<string, string[]>;
}

async function readSends(api: Api, campaignId: string): Promise<FollowUpSendView[]> {
  const page = await api.read(`/v1/campaigns/${campaignId}/sends?limit=100`);
  expectStatus(page, 200, `GET sends of ${campaignId}`);
  return (page.body as { items: FollowUpSendView[] }).items;
}

async function readEventTypes(api: Api, sendId: string): Promise<string[]> {
  const response = await api.read(`/v1/sends/${sendId}`);
  expectStatus(response, 200, `GET send ${sendId}`);
  return (response.body as { events: Array<{ type: string }> }).events.map((e) => e.type);
}

export async function readScenario(api: Api, models: Array<CampaignModel & { plan: FollowUpPlan }>): Promise<ScenarioCampaign[]> {
  const out: ScenarioCampaign[] = [];
  for (const model of models.filter((m) => m.id !== null)) {
    const sends = await readSends(api, model.id!);
    const eventTypes = new Map<string, string[]>();
    for (const send of sends) eventTypes.set(send.id, await readEventTypes(api, send.id));
    out.push({ model, sends, eventTypes });
  }
  return out;
}

/** Why a campaign of the scenario is not done yet, or null: originals sent (or unsent), follow-ups created and sent. */
export function whyFollowUpUnsettled({ model, sends }: ScenarioCampaign): string | null {
  const label = `c${model.plan.index} (${model.plan.kind})`;
  const original = sends.find((s) => s.kind === 'scheduled');
  const expected = model.plan.kind === 'unsend' ? 'unsent' : 'sent';
  if (original?.status !== expected) return `${label}: original ${original?.id} is ${original?.status} (sync ${original?.sync.state}), waiting for ${expected}`;
  if (model.plan.kind === 'unsend') return null;
  const followUp = sends.find((s) => s.kind === 'follow_up');
  if (followUp === undefined) return `${label}: no follow-up made yet`;
  if (followUp.status === 'failed' || followUp.status === 'canceled') return null;
  if (followUp.status !== 'sent' || followUp.sync.state !== 'synced') return `${label}: follow-up ${followUp.id} is ${followUp.status} (sync ${followUp.sync.state})`;
  return null;
}

const remoteOf = (remote: SimMessage[], id: string | null | undefined) => (id === null || id === undefined ? undefined : remote.find((m) => String(m.id) === id));

function checkFollowUp(label: string, campaign: ScenarioCampaign, sim: Pick<Simulator, 'audienceOf' | 'lists'>, remote: SimMessage[]): string[] {
  const { plan } = campaign.model;
  const original = campaign.sends.find((s) => s.kind === 'scheduled')!;
  const followUps = campaign.sends.filter((s) => s.kind === 'follow_up');
  if (followUps.length !== 1) return [`${label}: ${followUps.length} follow-up sends, expected 1`];
  const followUp = followUps[0]!;
  if (followUp.status !== 'sent') return [`${label}: follow-up ${followUp.id} is ${followUp.status} (${followUp.reason})`];
  const violations: string[] = [];
  const copies = remote.filter((m) => m.body.text === plan.followUpText && m.state !== 'canceled');
  const own = remoteOf(remote, followUp.sync.remoteId);
  if (copies.length !== 1 || own === undefined || copies[0] !== own) violations.push(`${label}: ${copies.length} remote follow-ups (${copies.map((m) => m.id).join(', ')}), its own is ${followUp.sync.remoteId}`);
  const originalRemote = remoteOf(remote, original.sync.remoteId);
  if (own === undefined || originalRemote === undefined) return [...violations, `${label}: follow-up or original has no remote message`];

  // Buyers as they were when the follow-up was created (they had long stopped growing: FOLLOW_UP_SIM).
  const buyers = new Set(sim.audienceOf(originalRemote.id, Date.parse(own.createdAt))!.buyers);
  const originalFans = new Set(sim.audienceOf(originalRemote.id)!.recipients);
  const recipients = sim.audienceOf(own.id)!.recipients;
  const toBuyers = recipients.filter((fan) => buyers.has(fan));
  if (toBuyers.length > 0) violations.push(`${label}: follow-up ${own.id} reached ${toBuyers.length} buyers (${toBuyers.slice(0, 5).join(', ')})`);
  const strangers = recipients.filter((fan) => !originalFans.has(fan));
  if (strangers.length > 0) violations.push(`${label}: follow-up ${own.id} reached ${strangers.length} fans the original did not`);
  if (recipients.length !== originalFans.size - buyers.size) violations.push(`${label}: follow-up reached ${recipients.length} fans, expected ${originalFans.size} − ${buyers.size} buyers`);

  const expectedPath = plan.kind === 'buyers_list' ? 'buyers_list' : 'fan_ids';
  if (followUp.followUp?.path !== expectedPath) violations.push(`${label}: follow-up path ${followUp.followUp?.path}, expected ${expectedPath}`);
  const buyersLists = sim.lists(plan.connectionId).filter((l) => l.name === `fanout-buyers-${followUp.id}`);
  if (plan.kind === 'fan_ids' && buyersLists.length > 0) violations.push(`${label}: a fan-id follow-up made ${buyersLists.length} buyers lists`);
  if (plan.kind === 'buyers_list') {
    if (buyersLists.length !== 1) violations.push(`${label}: ${buyersLists.length} buyers lists named fanout-buyers-${followUp.id}, expected 1`);
    else if (buyersLists[0]!.id !== followUp.followUp?.buyersListId || !(own.body.excludeUserLists ?? []).map(Number).includes(buyersLists[0]!.id)) {
      violations.push(`${label}: buyers list ${buyersLists[0]!.id} is not the one the follow-up (${followUp.followUp?.buyersListId}) excludes`);
    }
  }
  return violations;
}

function checkUnsend(label: string, campaign: ScenarioCampaign, remote: SimMessage[]): string[] {
  const original = campaign.sends.find((s) => s.kind === 'scheduled')!;
  const own = remoteOf(remote, original.sync.remoteId);
  const violations: string[] = [];
  if (original.status !== 'unsent') violations.push(`${label}: status ${original.status}, expected unsent`);
  if (own === undefined) return [...violations, `${label}: no remote message`];
  if (own.state !== 'unsent' || own.unsentAt === null) return [...violations, `${label}: remote ${own.id} is ${own.state}, expected unsent`];
  // Due a minute after the sentAt Fanout recorded (OFAuth's item date), never before.
  const sentAt = Date.parse(original.sentAt ?? '');
  if (!(Date.parse(own.unsentAt) >= sentAt + AFTER_MS)) violations.push(`${label}: unsent at ${own.unsentAt}, before sentAt ${original.sentAt} + 1m`);
  const unsentEvents = (campaign.eventTypes.get(original.id) ?? []).filter((t) => t === 'unsent').length;
  if (unsentEvents !== 1) violations.push(`${label}: ${unsentEvents} unsent events, expected 1`);
  return violations;
}

/** Every scenario invariant, as violations (empty when all hold). */
export function checkFollowUpScenario(campaigns: ScenarioCampaign[], sim: Pick<Simulator, 'audienceOf' | 'lists'>, remote: SimMessage[]): string[] {
  const violations: string[] = [];
  const owners = new Map<string, string[]>();
  for (const campaign of campaigns) {
    const { plan } = campaign.model;
    const label = `c${plan.index} (${plan.kind})`;
    const originals = campaign.sends.filter((s) => s.kind === 'scheduled');
    for (const s of campaign.sends) if (s.sync.remoteId !== null) owners.set(s.sync.remoteId, [...(owners.get(s.sync.remoteId) ?? []), s.id]);
    if (originals.length !== 1) {
      violations.push(`${label}: ${originals.length} original sends`);
      continue;
    }
    const copies = remote.filter((m) => m.body.text === plan.texts[0] && m.state !== 'canceled');
    if (copies.length !== 1 || String(copies[0]!.id) !== originals[0]!.sync.remoteId) violations.push(`${label}: ${copies.length} remote originals (${copies.map((m) => m.id).join(', ')}), its own is ${originals[0]!.sync.remoteId}`);
    violations.push(...(plan.kind === 'unsend' ? checkUnsend(label, campaign, remote) : checkFollowUp(label, campaign, sim, remote)));
  }
  for (const m of remote) {
    const claimedBy = owners.get(String(m.id)) ?? [];
    // An unowned copy that went out (unsent included: fans saw it) is a double send.
    if (claimedBy.length > 1 || (claimedBy.length === 0 && m.state !== 'canceled')) violations.push(`remote message ${m.id} (${m.state}, ${JSON.stringify(m.body.text)}) is claimed by ${claimedBy.length} sends`);
  }
  return violations;
}

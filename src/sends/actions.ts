import type { Campaign } from '../campaigns/model.ts';
import type { Clock } from '../clock.ts';
import { AppError, ConflictError, NotFoundError } from '../errors.ts';
import type { EventSpec } from '../events/types.ts';
import { newSendId } from '../ids.ts';
import type { CampaignStore, SendStore, SendWork } from '../store/types.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import type { NewSend, Send, SendChanges } from './model.ts';

/*
 * The marketer's two actions on single messages: a test send of a campaign, and an unsend.
 *
 * Both are carried out by the sync lane, run for that one send inside the request: the same
 * lease, intent and per-connection rate bucket as every other OFAuth write, so a test send can
 * neither break the budget nor race the loop, and a crash mid-call is settled by the loop like
 * any other. The marketer still gets the answer in the same request: the lane starts at once and
 * waits at most for one token of the bucket. When it cannot finish now (a back-off, another
 * process holding the lease), the answer says so (202) and the loop finishes it.
 */

export interface SendActionsDeps {
  campaigns: CampaignStore;
  sends: SendStore;
  clock: Clock;
  /** TEST_SEND_ALLOWLIST; null: any fan. */
  testSendAllowlist: number[] | null;
  /** One reconciler pass for one send. */
  runSend: (sendId: string) => Promise<unknown>;
}

/** Campaigns a test send is allowed from: before the blast. */
const TESTABLE: ReadonlySet<Campaign['status']> = new Set(['draft', 'scheduled']);

/** Whether a campaign in this status takes a test send (the dashboard offers one only then). */
export const isTestable = (status: Campaign['status']): boolean => TESTABLE.has(status);

function testSendOf(campaign: Campaign, userId: number, now: number): NewSend {
  return {
    id: newSendId(now),
    campaignId: campaign.id,
    connectionId: campaign.connectionId,
    kind: 'test',
    occurrenceAt: null,
    dueAt: now,
    revision: campaign.revision,
    status: 'pending',
    testUserId: userId,
    createdAt: now,
    updatedAt: now,
  };
}

/** Why this send cannot be unsent now, or null. Pure: the store calls it on the row as it is. */
export function unsendRefusal(send: Send, now: number): ConflictError | null {
  if (send.status === 'unsent') return new ConflictError('already_unsent', `Send ${send.id} was already unsent at ${new Date(send.unsentAt ?? now).toISOString()}.`);
  if (send.status !== 'sent') return new ConflictError('invalid_state', `Only a sent message can be unsent; send ${send.id} is ${send.status}.`);
  const hasCopy = send.kind === 'test' ? send.chatMessageId !== null : send.remoteId !== null && send.remoteDeletedAt === null;
  if (!hasCopy) return new ConflictError('invalid_state', `Send ${send.id} has no OFAuth message left to unsend.`);
  if (send.unsendableUntil !== null && send.unsendableUntil <= now) {
    return new ConflictError('unsend_window_closed', `Send ${send.id} is outside OFAuth's unsend window: it closed at ${new Date(send.unsendableUntil).toISOString()}.`);
  }
  return null;
}

export function createSendActions(deps: SendActionsDeps) {
  async function loadAccessible(principal: Principal, sendId: string): Promise<Send> {
    const send = await deps.campaigns.findSend(sendId);
    if (!send || !canAccessConnection(principal, send.connectionId)) throw new NotFoundError('send', sendId);
    return send;
  }

  return {
    /** Whether an unsend of this send would be taken now: the check `unsend` makes first. */
    isUnsendable: (send: Send): boolean => unsendRefusal(send, deps.clock.now()) === null,

    /** Records a test send of the campaign's current message to `userId` and sends it (see above). */
    async testSend(principal: Principal, campaignId: string, userId: number): Promise<Send> {
      const allowlist = deps.testSendAllowlist;
      if (allowlist !== null && !allowlist.includes(userId)) {
        throw new AppError(403, 'not_in_test_allowlist', 'Forbidden', `Fan ${userId} is not in TEST_SEND_ALLOWLIST: test sends may go only to the fans it lists.`);
      }
      const now = deps.clock.now();
      let sendId: string | null = null;
      const record = await deps.campaigns.mutate(campaignId, now, (state) => {
        if (!canAccessConnection(principal, state.campaign.connectionId)) throw new NotFoundError('campaign', campaignId);
        if (!isTestable(state.campaign.status)) {
          throw new ConflictError('invalid_state', `A test send is allowed while the campaign is draft or scheduled; this one is ${state.campaign.status}.`);
        }
        const send = testSendOf(state.campaign, userId, now);
        sendId = send.id;
        const event: EventSpec = { type: 'test_requested', actor: principal.name, sendId: send.id, data: { userId } };
        return { insertSends: [send], events: [event] };
      });
      if (!record || sendId === null) throw new NotFoundError('campaign', campaignId);
      await deps.runSend(sendId);
      return (await deps.campaigns.findSend(sendId))!;
    },

    /**
     * Asks for a sent message to be taken back and runs the unsend. Refused (409) outside
     * OFAuth's window as last seen; OFAuth's own refusal is a 409 too.
     */
    async unsend(principal: Principal, sendId: string): Promise<{ send: Send; isDone: boolean }> {
      await loadAccessible(principal, sendId);
      const now = deps.clock.now();
      const written = await deps.sends.mutateSend(sendId, now, ({ send }: SendWork) => {
        const refusal = unsendRefusal(send, now);
        if (refusal !== null) throw refusal;
        if (send.unsendRequestedAt !== null || send.unsendStartedAt !== null) return { changes: {} };
        const remoteId = send.kind === 'test' ? send.chatMessageId : send.remoteId;
        // 'pending' lifts an earlier error hold: the unsend is a new request.
        const changes: SendChanges = { unsendRequestedAt: now, syncState: 'pending', lastError: null, nextAttemptAt: null };
        return { changes, events: [{ type: 'unsend_requested', actor: principal.name, sendId, data: { remoteId } }] };
      });
      if (!written) throw new NotFoundError('send', sendId);
      await deps.runSend(sendId);
      const send = (await deps.campaigns.findSend(sendId))!;
      if (send.status === 'unsent') return { send, isDone: true };
      if (send.syncState === 'error') throw new ConflictError('unsend_refused', send.lastError ?? `OFAuth refused to unsend send ${sendId}.`);
      return { send, isDone: false };
    },
  };
}

export type SendActions = ReturnType<typeof createSendActions>;

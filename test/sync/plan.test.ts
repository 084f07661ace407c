import { describe, expect, it } from 'vitest';
import { needsSync, planSync, syncDueAt, syncStateAfterChange, type SyncFacts } from '../../src/sync/plan.ts';

const NOW = Date.UTC(2030, 0, 1);
const settings = { lateSendMaxMs: 15 * 60_000, lateSendPolicy: 'fail' as const, settleMs: 30_000 };
const facts = (over: Partial<SyncFacts> = {}): SyncFacts => ({
  status: 'pending',
  dueAt: NOW + 3_600_000,
  revision: 1,
  syncedRevision: 0,
  remoteId: null,
  remoteDeletedAt: null,
  createStartedAt: null,
  syncState: 'pending',
  nextAttemptAt: null,
  ...over,
});

describe('planSync', () => {
  it.each([
    ['pending without remote: create, queued for later', facts(), { kind: 'create', sendNow: false }],
    ['due now: create without a date', facts({ dueAt: null }), { kind: 'create', sendNow: true }],
    ['due 5 minutes ago: still sent, at once', facts({ dueAt: NOW - 5 * 60_000 }), { kind: 'create', sendNow: true }],
    ['due 16 minutes ago: missed window', facts({ dueAt: NOW - 16 * 60_000 }), { kind: 'fail_late' }],
    ['queued, edited: update', facts({ status: 'queued', remoteId: '9', revision: 2, syncedRevision: 1 }), { kind: 'update' }],
    ['queued, in step: nothing', facts({ status: 'queued', remoteId: '9', revision: 2, syncedRevision: 2 }), { kind: 'none' }],
    ['canceled with a live remote: delete', facts({ status: 'canceled', remoteId: '9', syncedRevision: 1 }), { kind: 'delete' }],
    ['canceled, remote already deleted: nothing', facts({ status: 'canceled', remoteId: '9', remoteDeletedAt: NOW }), { kind: 'none' }],
    ['canceled, never created: nothing', facts({ status: 'canceled' }), { kind: 'none' }],
    ['create in doubt, settled: resolve', facts({ createStartedAt: NOW - 30_000 }), { kind: 'resolve' }],
    ['create in doubt, settling: wait', facts({ createStartedAt: NOW - 1_000 }), { kind: 'wait', until: NOW + 29_000 }],
    ['canceled during a create in doubt: resolve first', facts({ status: 'canceled', createStartedAt: NOW - 60_000 }), { kind: 'resolve' }],
    ['refused update on hold: nothing', facts({ status: 'queued', remoteId: '9', revision: 2, syncedRevision: 1, syncState: 'error' }), { kind: 'none' }],
    ['failed (a draft has no send at all): nothing', facts({ status: 'failed' }), { kind: 'none' }],
    ['sent: nothing', facts({ status: 'sent', remoteId: '9', syncedRevision: 1 }), { kind: 'none' }],
  ])('%s', (_name, input, expected) => {
    expect(planSync(input, NOW, settings)).toEqual(expected);
  });

  it('sends late sends anyway under the send policy', () => {
    expect(planSync(facts({ dueAt: NOW - 60 * 60_000 }), NOW, { ...settings, lateSendPolicy: 'send' })).toEqual({ kind: 'create', sendNow: true });
  });

  it('holds a series occurrence to its own late limit, whatever the policy', () => {
    const series = { ...settings, lateSendPolicy: 'send' as const, occurrenceLateMaxMs: 2 * 60_000 };
    expect(planSync(facts({ kind: 'occurrence', dueAt: NOW - 60_000 }), NOW, series)).toEqual({ kind: 'create', sendNow: true });
    expect(planSync(facts({ kind: 'occurrence', dueAt: NOW - 3 * 60_000 }), NOW, series)).toEqual({ kind: 'fail_late' });
    expect(planSync(facts({ kind: 'scheduled', dueAt: NOW - 3 * 60_000 }), NOW, series)).toEqual({ kind: 'create', sendNow: true });
  });

  it('never deletes a canceled occurrence once its time has come: it is going out', () => {
    const canceled = { status: 'canceled' as const, remoteId: '9', syncedRevision: 1 };
    expect(planSync(facts({ ...canceled, kind: 'occurrence', dueAt: NOW + 1 }), NOW, settings)).toEqual({ kind: 'delete' });
    expect(planSync(facts({ ...canceled, kind: 'occurrence', dueAt: NOW }), NOW, settings)).toEqual({ kind: 'keep_going_out' });
    expect(planSync(facts({ ...canceled, kind: 'scheduled', dueAt: NOW - 60_000 }), NOW, settings)).toEqual({ kind: 'delete' });
  });
});

describe('sync bookkeeping', () => {
  it('is due at the back-off time when one is set, now otherwise, and never when nothing is needed', () => {
    expect(syncDueAt(facts(), NOW)).toBe(NOW);
    expect(syncDueAt(facts({ nextAttemptAt: NOW + 5_000 }), NOW)).toBe(NOW + 5_000);
    expect(syncDueAt(facts({ status: 'failed' }), NOW)).toBeNull();
    expect(needsSync(facts({ status: 'queued', remoteId: '1', syncedRevision: 1 }))).toBe(false);
  });

  it('keeps sticky states and derives the others', () => {
    expect(syncStateAfterChange(facts(), 'retrying')).toBe('retrying');
    expect(syncStateAfterChange(facts({ status: 'canceled', remoteId: '9', syncedRevision: 1 }), 'synced')).toBe('pending');
    expect(syncStateAfterChange(facts({ status: 'queued', remoteId: '9', syncedRevision: 1 }), 'synced')).toBe('synced');
    expect(syncStateAfterChange(facts({ createStartedAt: NOW }))).toBe('creating');
    expect(syncStateAfterChange(facts({ status: 'failed', syncState: 'idle' }))).toBe('idle');
  });
});

describe('unsend planning', () => {
  const sent = (over: Partial<SyncFacts> = {}) => facts({ status: 'sent', remoteId: '9', syncedRevision: 1, syncState: 'synced', sentAt: NOW - 60_000, ...over });

  it.each([
    ['sent, no unsend planned: nothing', sent(), { kind: 'none' }, null],
    ['unsendAfter not yet come: wait for it', sent({ unsendAfterMs: 10 * 60_000 }), { kind: 'wait', until: NOW + 9 * 60_000 }, NOW + 9 * 60_000],
    ['unsendAfter come: unsend', sent({ unsendAfterMs: 60_000 }), { kind: 'unsend' }, NOW],
    ['asked for: unsend now, whatever unsendAfter says', sent({ unsendAfterMs: 3_600_000, unsendRequestedAt: NOW }), { kind: 'unsend' }, NOW],
    ['an unsend of unknown outcome: settled first', sent({ unsendStartedAt: NOW - 1_000 }), { kind: 'unsend' }, NOW - 1_000],
    // The claim holds it back until the back-off ends (sync_due_at); a claimed one is unsent.
    ['backing off after a failed unsend: due after the back-off', sent({ unsendRequestedAt: NOW - 5_000, nextAttemptAt: NOW + 30_000 }), { kind: 'unsend' }, NOW + 30_000],
    ['already unsent: nothing', sent({ status: 'sent', unsentAt: NOW - 1, unsendRequestedAt: NOW - 5 }), { kind: 'none' }, null],
    ['refused by OFAuth (error hold): nothing', sent({ unsendRequestedAt: NOW, syncState: 'error' }), { kind: 'none' }, null],
    ['remote copy gone: nothing', sent({ unsendRequestedAt: NOW, remoteDeletedAt: NOW - 1 }), { kind: 'none' }, null],
    ['a test send: its chat message counts as the copy', sent({ kind: 'test', remoteId: null, chatMessageId: '7000001', unsendRequestedAt: NOW }), { kind: 'unsend' }, NOW],
  ] as const)('%s', (_name, f, action, dueAt) => {
    expect(planSync(f, NOW, settings)).toEqual(action);
    expect(syncDueAt(f, NOW)).toBe(dueAt);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { buildSeriesHarness, DAY, HOUR, MINUTE, seriesBody, type SeriesHarness } from './series-support.ts';

// 2030-01-01 is a Tuesday; Fridays at 20:00 in New York (EST, UTC-5) are 01:00Z on Saturdays.
const TUESDAY = Date.UTC(2030, 0, 1, 12, 0, 0);
const FRIDAY_1 = Date.UTC(2030, 0, 5, 1, 0, 0);
const WEEK = 7 * DAY;

describe('recurring campaigns', () => {
  let h: SeriesHarness;
  afterEach(async () => {
    await h.close();
  });

  async function createSeries(overrides: Record<string, unknown> = {}) {
    const res = await h.post('/v1/campaigns', seriesBody(overrides));
    expect(res.statusCode, JSON.stringify(res.json)).toBe(201);
    return res.json;
  }

  it('creates a series whose next occurrence is in its time zone, with no send yet', async () => {
    h = await buildSeriesHarness({ start: TUESDAY });
    const series = await createSeries();
    expect(series).toMatchObject({
      status: 'scheduled',
      recurrence: { cron: '0 20 * * 5', timezone: 'America/New_York', endsAt: null, maxOccurrences: null },
      nextOccurrenceAt: new Date(FRIDAY_1).toISOString(),
      sendCounts: { pending: 0, queued: 0, sending: 0, sent: 0, canceled: 0, failed: 0 },
      sync: null,
      stats: null,
    });
    expect(await h.get(`/v1/campaigns/${series.id}`)).toEqual(series);
  });

  it('makes an occurrence a send RECURRENCE_LEAD before its time, queued in OFAuth with its scheduledDate', async () => {
    h = await buildSeriesHarness({ start: TUESDAY });
    const series = await createSeries();
    await h.fanout.syncOnce();
    expect(await h.sendsOf(series.id)).toEqual([]);
    expect(h.sim.messages()).toHaveLength(0);

    h.clock.set(FRIDAY_1 - HOUR);
    const tick = await h.fanout.syncOnce();

    expect(tick).toMatchObject({ seriesSends: 1, created: 1 });
    const [send, ...more] = await h.sendsOf(series.id);
    expect(more).toEqual([]);
    expect(send).toMatchObject({ kind: 'occurrence', occurrenceAt: new Date(FRIDAY_1).toISOString(), dueAt: new Date(FRIDAY_1).toISOString(), status: 'queued' });
    const [remote] = h.liveRemote();
    expect(String(remote!.id)).toBe(send!.sync.remoteId);
    expect(remote!.body.scheduledDate).toBe('2030-01-05T01:00:00Z');
    const after = await h.get(`/v1/campaigns/${series.id}`);
    expect(after).toMatchObject({ status: 'scheduled', nextOccurrenceAt: new Date(FRIDAY_1 + WEEK).toISOString(), sendCounts: { queued: 1 } });

    // A second tick in the same hour makes nothing more: the occurrence is a send once.
    expect((await h.fanout.syncOnce()).seriesSends).toBe(0);
    expect(h.sim.messages()).toHaveLength(1);
  });

  it('keeps local wall time across a DST change (20:00 New York is 01:00Z in winter, 00:00Z in summer)', async () => {
    // DST starts in New York on Sunday 2030-03-10.
    h = await buildSeriesHarness({ start: Date.UTC(2030, 2, 8, 12, 0, 0) });
    const series = await createSeries();
    expect(series.nextOccurrenceAt).toBe('2030-03-09T01:00:00.000Z');
    h.clock.set(Date.UTC(2030, 2, 9, 0, 30));
    await h.fanout.syncOnce();
    h.clock.set(Date.UTC(2030, 2, 15, 23, 30));
    await h.fanout.syncOnce();
    expect((await h.sendsOf(series.id)).map((s) => s.occurrenceAt)).toEqual(['2030-03-09T01:00:00.000Z', '2030-03-16T00:00:00.000Z']);
  });

  it.each([
    [{ cron: '0 20 * * 5', timezone: 'Mars/Base' }, 'body/recurrence/timezone', 'Mars/Base'],
    [{ cron: '*/30 * * * *' }, 'body/recurrence/cron', '30 minutes apart; the minimum is 1 hour'],
    [{ cron: '0 0 20 * * 5' }, 'body/recurrence/cron', 'five fields'],
    [{ cron: 'every friday at eight pm' }, 'body/recurrence/cron', 'not a valid cron'],
    [{ cron: '0 0 30 2 *' }, 'body/recurrence/cron', 'never fires'],
    [{ cron: '0 20 * * 5', endsAt: '2029-01-01T00:00:00Z' }, 'body/recurrence/endsAt', 'future'],
  ])('refuses %j naming %s, and stores nothing', async (recurrence, path, message) => {
    h = await buildSeriesHarness({ start: TUESDAY });
    const before = await h.rows.rowCounts();
    const res = await h.post('/v1/campaigns', seriesBody({ recurrence }));
    expect(res.statusCode).toBe(400);
    expect(res.json.errors).toEqual([expect.objectContaining({ path })]);
    expect(res.json.errors[0].message).toContain(message);
    expect(await h.rows.rowCounts()).toEqual(before);
  });

  it('accepts a cron exactly at RECURRENCE_MIN_INTERVAL, and a lower minimum when configured', async () => {
    h = await buildSeriesHarness({ start: TUESDAY, env: { RECURRENCE_MIN_INTERVAL: '30m' } });
    expect((await h.post('/v1/campaigns', seriesBody({ recurrence: { cron: '*/30 * * * *' } }))).statusCode).toBe(201);
    expect((await h.post('/v1/campaigns', seriesBody({ recurrence: { cron: '*/20 * * * *' } }))).statusCode).toBe(400);
  });

  it('stops at maxOccurrences and completes once every send is final', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start, sim: { sendDurationMs: MINUTE } });
    const series = await createSeries({ recurrence: { cron: '0 * * * *', timezone: 'UTC', maxOccurrences: 2 } });
    await h.fanout.syncOnce();
    h.clock.set(start + HOUR);
    await h.fanout.syncOnce();
    expect(await h.get(`/v1/campaigns/${series.id}`)).toMatchObject({ status: 'scheduled', nextOccurrenceAt: null, sendCounts: { queued: 2 } });

    h.clock.set(Date.UTC(2030, 0, 1, 14, 5));
    await h.fanout.statsPoller.pollOnce();
    const done = await h.get(`/v1/campaigns/${series.id}`);
    expect(done).toMatchObject({ status: 'completed', sendCounts: { sent: 2 } });
    expect(done.stats.sentCount).toBeGreaterThan(0);
  });

  it('makes no occurrence after endsAt', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start });
    const series = await createSeries({ recurrence: { cron: '0 * * * *', timezone: 'UTC', endsAt: '2030-01-01T13:30:00Z' } });
    h.clock.set(start + 3 * HOUR);
    await h.fanout.syncOnce();
    const sends = await h.sendsOf(series.id);
    expect(sends.map((s) => s.occurrenceAt)).toEqual(['2030-01-01T13:00:00.000Z']);
    expect((await h.get(`/v1/campaigns/${series.id}`)).nextOccurrenceAt).toBeNull();
  });

  it('pause deletes queued sends from OFAuth and makes none; resume continues after now, recording missed ones', async () => {
    h = await buildSeriesHarness({ start: FRIDAY_1 - HOUR });
    const series = await createSeries();
    await h.fanout.syncOnce();
    expect(h.liveRemote()).toHaveLength(1);

    const paused = await h.post(`/v1/campaigns/${series.id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json).toMatchObject({ status: 'paused', sendCounts: { canceled: 1 } });
    await h.fanout.syncOnce();
    expect(h.liveRemote()).toHaveLength(0);

    // Two weeks pass while paused: the Friday it was paused on and two more.
    h.clock.set(FRIDAY_1 + 2 * WEEK + HOUR);
    expect((await h.fanout.syncOnce()).seriesSends).toBe(0);
    const resumed = await h.post(`/v1/campaigns/${series.id}/resume`);
    expect(resumed.json.status).toBe('scheduled');
    await h.fanout.syncOnce();

    const sends = await h.sendsOf(series.id);
    expect(sends.map((s) => [s.occurrenceAt, s.status, s.reason])).toEqual([
      [new Date(FRIDAY_1).toISOString(), 'canceled', 'paused'],
      [new Date(FRIDAY_1 + WEEK).toISOString(), 'failed', 'missed_window'],
      [new Date(FRIDAY_1 + 2 * WEEK).toISOString(), 'failed', 'missed_window'],
    ]);
    expect(h.liveRemote()).toHaveLength(0);
    expect((await h.get(`/v1/campaigns/${series.id}`)).nextOccurrenceAt).toBe(new Date(FRIDAY_1 + 3 * WEEK).toISOString());

    h.clock.set(FRIDAY_1 + 3 * WEEK - HOUR);
    await h.fanout.syncOnce();
    expect(h.liveRemote()).toHaveLength(1);
  });

  it('pause and cancel leave a queued occurrence whose time has come to go out: a delivered message is never unsent', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start, sim: { sendDurationMs: MINUTE } });
    const series = await createSeries({ recurrence: { cron: '0 * * * *', timezone: 'UTC' } });
    await h.fanout.syncOnce();
    // 13:00 is queued in OFAuth; its time passes before the poller has seen it go.
    h.clock.set(Date.UTC(2030, 0, 1, 13, 0, 30));
    const paused = await h.post(`/v1/campaigns/${series.id}/pause`);
    expect(paused.json).toMatchObject({ status: 'paused', sendCounts: { queued: 1 } });
    expect(paused.json.sendCounts.canceled ?? 0).toBe(0);
    await h.fanout.syncOnce();
    expect(h.liveRemote().map((m) => m.body.scheduledDate)).toEqual(['2030-01-01T13:00:00Z']);

    const canceled = await h.post(`/v1/campaigns/${series.id}/cancel`);
    expect(canceled.json).toMatchObject({ status: 'canceled', sendCounts: { queued: 1 } });
    await h.fanout.syncOnce();
    expect(h.liveRemote()).toHaveLength(1);
    h.clock.set(Date.UTC(2030, 0, 1, 13, 5));
    await h.fanout.statsPoller.pollOnce();
    expect((await h.sendsOf(series.id)).map((s) => s.status)).toEqual(['sent']);
  });

  it('a pause before an occurrence whose delete only comes after its time leaves the message to go out, never unsends it', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start, sim: { sendDurationMs: 5_000 } });
    const series = await createSeries({ recurrence: { cron: '0 * * * *', timezone: 'UTC', maxOccurrences: 1 } });
    await h.fanout.syncOnce();
    // Ten seconds before 13:00 the queued copy can still be withdrawn; the delete is held up
    // (a crash, a backlog) until the message has been delivered, inside OFAuth's unsend window.
    h.clock.set(Date.UTC(2030, 0, 1, 12, 59, 50));
    expect((await h.post(`/v1/campaigns/${series.id}/pause`)).json).toMatchObject({ status: 'paused', sendCounts: { canceled: 1 } });
    h.clock.set(Date.UTC(2030, 0, 1, 13, 0, 10));
    await h.fanout.syncOnce();

    expect(h.sim.messages().map((m) => [m.state, m.unsentAt])).toEqual([['sent', null]]);
    const [send] = await h.sendsOf(series.id);
    expect(send).toMatchObject({ status: 'canceled', sync: { state: 'error' } });
    await h.fanout.statsPoller.pollOnce();
    expect((await h.sendsOf(series.id)).map((s) => s.status)).toEqual(['sent']);
  });

  it('a resume after the series has ended completes it', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start, sim: { sendDurationMs: MINUTE } });
    const series = await createSeries({ recurrence: { cron: '0 * * * *', timezone: 'UTC', maxOccurrences: 1 } });
    await h.fanout.syncOnce();
    h.clock.set(Date.UTC(2030, 0, 1, 13, 0, 30));
    expect((await h.post(`/v1/campaigns/${series.id}/pause`)).json.status).toBe('paused');
    h.clock.set(Date.UTC(2030, 0, 1, 13, 5));
    await h.fanout.statsPoller.pollOnce();
    expect(await h.get(`/v1/campaigns/${series.id}`)).toMatchObject({ status: 'paused', nextOccurrenceAt: null, sendCounts: { sent: 1 } });

    const resumed = await h.post(`/v1/campaigns/${series.id}/resume`);
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json).toMatchObject({ status: 'completed', sendCounts: { sent: 1 } });
  });

  it('a resume before the paused occurrence goes out makes it again', async () => {
    h = await buildSeriesHarness({ start: FRIDAY_1 - HOUR });
    const series = await createSeries();
    await h.fanout.syncOnce();
    await h.post(`/v1/campaigns/${series.id}/pause`);
    await h.fanout.syncOnce();
    h.clock.advance(10 * MINUTE);
    await h.post(`/v1/campaigns/${series.id}/resume`);
    await h.fanout.syncOnce();
    const statuses = (await h.sendsOf(series.id)).map((s) => [s.occurrenceAt, s.status]);
    expect(statuses).toEqual([
      [new Date(FRIDAY_1).toISOString(), 'canceled'],
      [new Date(FRIDAY_1).toISOString(), 'queued'],
    ]);
    expect(h.liveRemote()).toHaveLength(1);
  });

  it('a resume remakes a withdrawn occurrence only once its copy is surely deleted in OFAuth', async () => {
    h = await buildSeriesHarness({ start: FRIDAY_1 - HOUR });
    const series = await createSeries();
    await h.fanout.syncOnce();
    // The pause's DELETE is answered 500 and changes nothing: the queued copy is still in OFAuth.
    await h.post(`/v1/campaigns/${series.id}/pause`);
    h.sim.setFaults({ serverErrorBeforeCommit: 1 });
    await h.fanout.syncOnce();
    h.sim.setFaults({});
    expect(h.liveRemote()).toHaveLength(1);

    // Resumed while that delete waits for its retry: remaking the occurrence now would put a
    // second copy in OFAuth's queue, and both go out if the delete never succeeds.
    await h.post(`/v1/campaigns/${series.id}/resume`);
    await h.fanout.syncOnce();
    expect((await h.sendsOf(series.id)).map((s) => s.status)).toEqual(['canceled']);
    expect(h.liveRemote()).toHaveLength(1);
    expect(await h.get(`/v1/campaigns/${series.id}`)).toMatchObject({ status: 'scheduled', nextOccurrenceAt: new Date(FRIDAY_1).toISOString() });

    // The retried delete is confirmed; the next tick makes the occurrence again, once.
    h.clock.advance(10 * MINUTE);
    await h.fanout.syncOnce();
    await h.fanout.syncOnce();
    const statuses = (await h.sendsOf(series.id)).map((s) => [s.occurrenceAt, s.status, s.sync.state]);
    expect(statuses).toEqual([
      [new Date(FRIDAY_1).toISOString(), 'canceled', 'deleted'],
      [new Date(FRIDAY_1).toISOString(), 'queued', 'synced'],
    ]);
    expect(h.liveRemote()).toHaveLength(1);
  });

  it('a resumed occurrence sent now finds its own message after an ambiguous create, not its canceled copy\'s date', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start });
    const series = await createSeries({ recurrence: { cron: '0 * * * *', timezone: 'UTC' } });
    await h.fanout.syncOnce();
    // Seconds before 13:00: the pause deletes the queued copy, the resume makes the occurrence
    // again, and its "send now" create is saved by OFAuth but answered 500.
    h.clock.set(Date.UTC(2030, 0, 1, 12, 59, 55));
    await h.post(`/v1/campaigns/${series.id}/pause`);
    await h.fanout.syncOnce();
    await h.post(`/v1/campaigns/${series.id}/resume`);
    h.sim.setFaults({ serverErrorAfterCommit: 1 });
    await h.fanout.syncOnce();
    h.sim.setFaults({});
    expect(h.liveRemote()).toHaveLength(1);

    // The search must not skip that message as "dated at a sibling's due time": the sibling is
    // the canceled copy of this very occurrence.
    h.clock.advance(31_000);
    await h.fanout.syncOnce();
    await h.fanout.syncOnce();
    const sends = (await h.sendsOf(series.id)).filter((s) => s.occurrenceAt === '2030-01-01T13:00:00.000Z');
    expect(sends.map((s) => s.status)).toEqual(['canceled', 'queued']);
    const live = h.liveRemote().filter((m) => m.body.scheduledDate !== '2030-01-01T14:00:00Z');
    expect(live).toHaveLength(1);
    expect(sends[1]!.sync.remoteId).toBe(String(live[0]!.id));
  });

  it('an edit reaches the queued send in OFAuth and the occurrences after', async () => {
    h = await buildSeriesHarness({ start: FRIDAY_1 - HOUR });
    const series = await createSeries();
    await h.fanout.syncOnce();
    const edited = await h.patch(`/v1/campaigns/${series.id}`, { message: { text: 'New weekly text' } });
    expect(edited.statusCode).toBe(200);
    const tick = await h.fanout.syncOnce();
    expect(tick.updated).toBe(1);
    expect(h.liveRemote().map((m) => m.body.text)).toEqual(['New weekly text']);

    h.clock.set(FRIDAY_1 + WEEK - HOUR);
    await h.fanout.syncOnce();
    expect(h.liveRemote().map((m) => m.body.text)).toEqual(['New weekly text', 'New weekly text']);
  });

  it('a cron change deletes queued sends that no longer match and follows the new schedule', async () => {
    h = await buildSeriesHarness({ start: FRIDAY_1 - HOUR });
    const series = await createSeries();
    await h.fanout.syncOnce();
    // Fridays at 20:00 become Saturdays at 10:00 (15:00Z).
    const edited = await h.patch(`/v1/campaigns/${series.id}`, { recurrence: { cron: '0 10 * * 6', timezone: 'America/New_York' } });
    expect(edited.json).toMatchObject({ nextOccurrenceAt: '2030-01-05T15:00:00.000Z', sendCounts: { canceled: 1 } });
    await h.fanout.syncOnce();
    expect(h.liveRemote()).toHaveLength(0);
    const [old] = await h.sendsOf(series.id);
    expect(old).toMatchObject({ status: 'canceled', reason: 'schedule_changed' });
  });

  it('cancel deletes every queued send in OFAuth; sent ones keep their stats', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start, sim: { sendDurationMs: MINUTE } });
    const series = await createSeries({ recurrence: { cron: '0 * * * *', timezone: 'UTC' } });
    await h.fanout.syncOnce();
    h.clock.set(Date.UTC(2030, 0, 1, 13, 10));
    await h.fanout.syncOnce();
    await h.fanout.statsPoller.pollOnce();
    expect((await h.get(`/v1/campaigns/${series.id}`)).sendCounts).toMatchObject({ sent: 1, queued: 1 });

    const canceled = await h.post(`/v1/campaigns/${series.id}/cancel`);
    expect(canceled.json).toMatchObject({ status: 'canceled', sendCounts: { sent: 1, canceled: 1 } });
    await h.fanout.syncOnce();
    expect(h.liveRemote().filter((m) => m.body.scheduledDate === '2030-01-01T14:00:00Z')).toHaveLength(0);
    const [sent] = await h.sendsOf(series.id);
    expect(sent).toMatchObject({ status: 'sent' });
    expect(sent!.stats.sentCount).toBeGreaterThan(0);
    h.clock.advance(DAY);
    expect((await h.fanout.syncOnce()).seriesSends).toBe(0);
  });

  it('records occurrences missed while Fanout was down as failed, and sends none of them late', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start });
    const series = await createSeries({ recurrence: { cron: '0 */2 * * *', timezone: 'UTC' } });
    // Down from 12:10 until 19:05: 14:00, 16:00 and 18:00 passed; 20:00 is within the lead.
    h.clock.set(Date.UTC(2030, 0, 1, 19, 5));
    await h.fanout.syncOnce();
    const sends = await h.sendsOf(series.id);
    expect(sends.map((s) => [s.occurrenceAt.slice(11, 16), s.status, s.reason])).toEqual([
      ['14:00', 'failed', 'missed_window'],
      ['16:00', 'failed', 'missed_window'],
      ['18:00', 'failed', 'missed_window'],
      ['20:00', 'queued', null],
    ]);
    expect(h.liveRemote()).toHaveLength(1);
  });

  it('lists sends newest first, filtered by status, and shows one send with its events', async () => {
    const start = Date.UTC(2030, 0, 1, 12, 10);
    h = await buildSeriesHarness({ start });
    const series = await createSeries({ recurrence: { cron: '0 */2 * * *', timezone: 'UTC' } });
    h.clock.set(Date.UTC(2030, 0, 1, 19, 5));
    await h.fanout.syncOnce();
    const page = await h.get(`/v1/campaigns/${series.id}/sends?limit=2`);
    expect(page.items.map((s: any) => s.occurrenceAt.slice(11, 16))).toEqual(['20:00', '18:00']);
    const rest = await h.get(`/v1/campaigns/${series.id}/sends?limit=2&cursor=${page.nextCursor}`);
    expect(rest.items.map((s: any) => s.occurrenceAt.slice(11, 16))).toEqual(['16:00', '14:00']);
    expect(rest.nextCursor).toBeNull();
    const failed = await h.get(`/v1/campaigns/${series.id}/sends?status=failed`);
    expect(failed.items).toHaveLength(3);

    const queued = page.items[0];
    const one = await h.get(`/v1/sends/${queued.id}`);
    expect(one).toMatchObject({ id: queued.id, status: 'queued' });
    expect(one.events.map((e: any) => e.type)).toEqual(['occurrence_created', 'sync_started', 'remote_created']);
    expect(one.events.every((e: any) => e.sendId === queued.id)).toBe(true);
  });

  it('materialises an occurrence once when two processes race for it', async () => {
    h = await buildSeriesHarness({ start: FRIDAY_1 - HOUR });
    const series = await createSeries();
    const { materializeDueSeries } = await import('../../src/campaigns/series.ts');
    const settings = { leadMs: HOUR, lateSendMaxMs: 15 * MINUTE };
    const results = await Promise.all([0, 1].map(() => materializeDueSeries({ campaigns: h.store.campaigns, now: () => h.clock.now(), settings })));
    expect(results.reduce((n, r) => n + r.sends, 0)).toBe(1);
    expect(await h.sendsOf(series.id)).toHaveLength(1);
  });
});

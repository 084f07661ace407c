import type { FastifyInstance } from 'fastify';
import type { Dashboard } from '../plugin.ts';
import { addDays, isDay, localDay, zonedInstant } from '../time.ts';

const DEFAULT_DAYS = 30;

/** Per connection and day: what was sent and what it earned, with the sync loop's state. */
export function overviewRoutes(dashboard: Dashboard) {
  const { services, clock } = dashboard.fanout;
  return async (app: FastifyInstance) => {
    app.get('/overview', async (request, reply) => {
      const { principal, timeZone } = request.dashboard!;
      const query = request.query as Record<string, unknown>;
      const today = localDay(clock.now(), timeZone);
      const to = typeof query.to === 'string' && isDay(query.to) ? query.to : today;
      const fromDefault = addDays(to, -(DEFAULT_DAYS - 1));
      const from = typeof query.from === 'string' && isDay(query.from) && query.from <= to ? query.from : fromDefault;
      const connectionId = typeof query.connection === 'string' && /^conn_[A-Za-z0-9_-]{1,120}$/.test(query.connection) ? query.connection : undefined;
      const range = { from: new Date(zonedInstant(from, '00:00', timeZone)!).toISOString(), to: new Date(zonedInstant(addDays(to, 1), '00:00', timeZone)! - 1).toISOString() };
      const [summary, sync] = await Promise.all([services.stats.summary(principal, { ...range, connectionId }), services.sync.status(principal)]);
      // The chart: every day of the range (days without a send are zeros), across the listed connections.
      const byDate = new Map(summary.days.map((d) => [d.date, d]));
      const dates: string[] = [];
      for (let d = summary.from.slice(0, 10); d <= summary.to.slice(0, 10) && dates.length < 400; d = addDays(d, 1)) dates.push(d);
      const chart = {
        t: dates.map((d) => Date.parse(`${d}T12:00:00Z`) / 1000),
        messages: dates.map((d) => byDate.get(d)?.messagesSent ?? 0),
        views: dates.map((d) => byDate.get(d)?.views ?? 0),
        purchases: dates.map((d) => byDate.get(d)?.purchases ?? 0),
      };
      return dashboard.render(request, reply, 'overview', { title: 'Overview', nav: 'overview', summary, sync, chart, from, to, connectionId: connectionId ?? '' });
    });
  };
}

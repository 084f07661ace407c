import type { FastifyInstance } from 'fastify';
import { buildCalendar, type CalendarView } from '../calendar.ts';
import type { Dashboard } from '../plugin.ts';
import { isDay, localDay } from '../time.ts';
import { connectionChoices } from './connections.ts';

const STATUS_LABELS: Record<string, string> = { planned: 'Planned', pending: 'Scheduled', queued: 'Queued', sending: 'Sending', sent: 'Sent', failed: 'Failed', canceled: 'Canceled' };

/** The calendar: a week or a month of sends, in the marketer's zone. */
export function calendarRoutes(dashboard: Dashboard) {
  const { services, clock } = dashboard.fanout;
  return async (app: FastifyInstance) => {
    app.get('/calendar', async (request, reply) => {
      const { principal, timeZone } = request.dashboard!;
      const query = request.query as Record<string, unknown>;
      const view: CalendarView = query.view === 'month' ? 'month' : 'week';
      const anchor = typeof query.date === 'string' && isDay(query.date) ? query.date : localDay(clock.now(), timeZone);
      const connectionId = typeof query.connection === 'string' && query.connection !== '' ? query.connection : undefined;
      const calendar = await buildCalendar({ sends: services.sends, principal, view, anchor, zone: timeZone, now: clock.now(), connectionId });
      const connections = connectionChoices(dashboard, principal, calendar.weeks.flat().flatMap((d) => d.entries.map((e) => e.connectionId)));
      return dashboard.render(request, reply, 'calendar', { title: `Calendar: ${calendar.title}`, nav: 'calendar', calendar, connections, connectionId: connectionId ?? '', statusLabels: STATUS_LABELS });
    });
  };
}

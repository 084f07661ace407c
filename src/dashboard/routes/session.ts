import type { FastifyInstance } from 'fastify';
import type { Dashboard } from '../plugin.ts';
import { endSession, isTimeZone, resolveSession, safeNext, setTimeZone, startSession } from '../session.ts';
import { timeZones } from '../time.ts';

const str = (value: unknown) => (typeof value === 'string' ? value : '');

/** Sign in (a token exchanged for a session cookie), sign out, and the time-zone setting. */
export function sessionRoutes(dashboard: Dashboard) {
  const { services, clock, config } = dashboard.fanout;
  return async (app: FastifyInstance) => {
    app.get('/', async (request, reply) => {
      const state = await resolveSession(request, services.tokens, clock);
      return reply.redirect(state ? '/calendar' : '/sign-in', 303);
    });

    app.get('/sign-in', async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      if (await resolveSession(request, services.tokens, clock)) return reply.redirect(safeNext(query.next), 303);
      return dashboard.render(request, reply, 'sign-in', { title: 'Sign in', next: safeNext(query.next), zones: timeZones, error: null, expired: query.expired === '1' });
    });

    app.post('/sign-in', { preHandler: app.csrfProtection }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const next = safeNext(body.next);
      const zone = isTimeZone(str(body.timeZone)) ? str(body.timeZone) : 'UTC';
      // The same check as a bearer token; unknown and revoked tokens get the same answer.
      const principal = str(body.token).trim() === '' ? null : await services.tokens.authenticate(str(body.token).trim());
      if (!principal) {
        request.log.info('dashboard sign-in refused');
        return dashboard.render(request, reply, 'sign-in', { title: 'Sign in', next, zones: timeZones, zone, error: 'That token is not valid. Paste the whole token (it starts with fo_).', expired: false }, 401);
      }
      startSession(request, principal, zone, clock, config.session.ttlMs);
      request.log.info({ tokenId: principal.tokenId }, 'dashboard sign-in');
      return reply.redirect(next, 303);
    });

    app.post('/sign-out', { preHandler: app.csrfProtection }, async (request, reply) => {
      endSession(request);
      return reply.redirect('/sign-in', 303);
    });

  };
}

/** The marketer's time zone (signed-in scope): every time on every page is shown in it. */
export function settingsRoutes(dashboard: Dashboard) {
  return async (app: FastifyInstance) => {
    app.get('/settings', async (request, reply) =>
      dashboard.render(request, reply, 'settings', { title: 'Time zone', nav: 'settings', zones: timeZones, saved: (request.query as Record<string, unknown>).saved === '1' }),
    );

    app.post('/settings', async (request, reply) => {
      const zone = str((request.body as Record<string, unknown> | undefined)?.timeZone);
      if (!isTimeZone(zone)) return dashboard.render(request, reply, 'settings', { title: 'Time zone', nav: 'settings', zones: timeZones, saved: false, error: 'Choose a time zone from the list.' }, 400);
      setTimeZone(request, zone);
      return reply.redirect('/settings?saved=1', 303);
    });
  };
}

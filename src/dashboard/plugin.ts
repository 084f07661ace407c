import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifySecureSession from '@fastify/secure-session';
import fastifyStatic from '@fastify/static';
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import type { Fanout } from '../runtime.ts';
import { calendarRoutes } from './routes/calendar.ts';
import { campaignFormRoutes } from './routes/campaign-form.ts';
import { campaignRoutes } from './routes/campaigns.ts';
import { overviewRoutes } from './routes/overview.ts';
import { sendRoutes } from './routes/sends.ts';
import { sessionRoutes, settingsRoutes } from './routes/session.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { redirectToSignIn, resolveSession } from './session.ts';
import { viewHelpers } from './view-helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Every script, style and font comes from this server: no CDN, works offline. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

export type NavKey = 'calendar' | 'campaigns' | 'new' | 'overview' | 'tokens' | 'settings' | null;

export interface Dashboard {
  fanout: Fanout;
  /** Renders a page in the layout, as the signed-in principal sees it (or the sign-in page's bare one). */
  render(request: FastifyRequest, reply: FastifyReply, page: string, data: Record<string, unknown> & { title: string; nav?: NavKey }, status?: number): Promise<FastifyReply>;
}

declare module 'fastify' {
  interface FastifyReply {
    generateCsrf(): string;
  }
  interface FastifyInstance {
    csrfProtection(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void;
  }
}

/**
 * The dashboard, mounted in the API's server as one encapsulated plugin (bull-board style):
 * its own cookies, form parsing, templates, assets and error pages, none of which reach /v1.
 * Pages call the same services as the API, under the same principal and scopes.
 */
export function dashboardPlugin(fanout: Fanout) {
  const { config, services, clock } = fanout;
  const secret = config.session.secret;
  if (secret === null) throw new Error('the dashboard needs config.session.secret');

  return async function dashboard(app: FastifyInstance): Promise<void> {
    await app.register(fastifyCookie);
    await app.register(fastifySecureSession, {
      // 32 bytes from the configured secret; the cookie is sealed (XSalsa20-Poly1305), so it can
      // be neither read nor forged without it.
      key: createHash('sha256').update(secret).digest(),
      cookieName: 'fanout_session',
      // Second line of defence: the session's own expiresAt (by the service clock) ends it first.
      expiry: Math.ceil(config.session.ttlMs / 1000) + 60,
      cookie: { path: '/', httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: Math.ceil(config.session.ttlMs / 1000) },
    });
    await app.register(fastifyCsrf, { sessionPlugin: '@fastify/secure-session' });
    // Form posts are parsed here only: the API keeps answering 415 to anything but JSON.
    await app.register(fastifyFormbody, { bodyLimit: 1024 * 1024 });
    await app.register(fastifyView, {
      engine: { eta: new Eta({ views: join(here, 'views'), cache: true, autoEscape: true, autoTrim: [false, 'nl'] }) },
      templates: join(here, 'views'),
      production: true,
    });
    await app.register(fastifyStatic, { root: join(here, 'assets'), prefix: '/assets/', wildcard: false, maxAge: '1h', decorateReply: true });
    await app.register(fastifyStatic, { root: dirname(require.resolve('htmx.org')), prefix: '/assets/vendor/htmx/', wildcard: false, maxAge: '1h', decorateReply: false, allowedPath: (path) => path === '/htmx.min.js' });
    await app.register(fastifyStatic, {
      root: dirname(require.resolve('uplot')),
      prefix: '/assets/vendor/uplot/',
      wildcard: false,
      maxAge: '1h',
      decorateReply: false,
      allowedPath: (path) => path === '/uPlot.iife.min.js' || path === '/uPlot.min.css',
    });

    // Pages are not API operations: kept out of the OpenAPI document.
    app.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, hide: true };
    });
    app.decorateRequest('dashboard', null);
    app.addHook('onSend', async (_request, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'same-origin');
      const type = String(reply.getHeader('content-type') ?? '');
      if (type.startsWith('text/html')) {
        reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
        reply.header('x-frame-options', 'DENY');
        // Pages show what one token may see: never kept by a shared cache or the back button.
        reply.header('cache-control', 'no-store');
      }
      return payload;
    });

    const dashboard: Dashboard = {
      fanout,
      async render(request, reply, page, data, status = 200) {
        const state = request.dashboard;
        const html = await reply.viewAsync(`${page}.eta`, {
          ...data,
          nav: data.nav ?? null,
          mode: config.mode,
          csrf: reply.generateCsrf(),
          user: state ? { name: state.principal.name, role: state.principal.role, connectionIds: state.principal.connectionIds } : null,
          h: viewHelpers(state?.timeZone ?? 'UTC'),
        });
        return reply.code(status).type('text/html; charset=utf-8').send(html);
      },
    };

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      if (error.code === 'FST_CSRF_MISSING_SECRET' || error.code === 'FST_CSRF_INVALID_TOKEN') {
        return dashboard.render(request, reply, 'error', {
          title: 'Form expired',
          message: 'This form was not sent from a page of this dashboard, or it has expired. Go back, reload the page and try again.',
        }, 403);
      }
      if (error instanceof AppError) return dashboard.render(request, reply, 'error', { title: error.title, message: error.message }, error.status);
      if (error.validation) return dashboard.render(request, reply, 'error', { title: 'Bad request', message: 'Part of this address is not valid.' }, 400);
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error, method: request.method, url: request.url }, 'dashboard error');
      return dashboard.render(request, reply, 'error', { title: status === 500 ? 'Something went wrong' : 'Bad request', message: status === 500 ? 'The error was logged.' : error.message }, status);
    });

    await app.register(sessionRoutes(dashboard));
    await app.register(async (signedIn) => {
      signedIn.addHook('onRequest', async (request, reply) => {
        request.dashboard = await resolveSession(request, services.tokens, clock);
        if (!request.dashboard) return redirectToSignIn(request, reply);
      });
      // Every state-changing request carries the form's CSRF token (or htmx's header).
      signedIn.addHook('preHandler', (request, reply, done) => {
        if (request.method === 'GET' || request.method === 'HEAD') return done();
        app.csrfProtection(request, reply, done);
      });
      await signedIn.register(calendarRoutes(dashboard));
      await signedIn.register(campaignRoutes(dashboard));
      await signedIn.register(campaignFormRoutes(dashboard));
      await signedIn.register(sendRoutes(dashboard));
      await signedIn.register(overviewRoutes(dashboard));
      await signedIn.register(tokenRoutes(dashboard));
      await signedIn.register(settingsRoutes(dashboard));
    });
  };
}

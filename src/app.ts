import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { validatorCompiler, type FastifyPluginAsyncZod, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { audienceRoutes } from './audience/routes.ts';
import { campaignRoutes } from './campaigns/routes.ts';
import { registerBearerAuth } from './http/auth.ts';
import { batchedStdout } from './http/log-destination.ts';
import { answerConnectionError, answerFrameworkError, registerErrorHandler } from './http/error-handler.ts';
import { healthRoutes } from './http/health.ts';
import { OneLinePerRequest } from './http/request-logging.ts';
import { serializerCompiler } from './http/serializer.ts';
import { registerSwagger } from './http/swagger.ts';
import { metricsRoute } from './metrics.ts';
import type { Fanout } from './runtime.ts';
import { sendRoutes } from './sends/routes.ts';
import { statsRoutes } from './stats/routes.ts';
import { syncRoutes } from './sync/routes.ts';
import { tokenRoutes } from './tokens/routes.ts';

export const BODY_LIMIT_BYTES = 5 * 1024 * 1024;

export interface AppDeps {
  fanout: Fanout;
  logger?: FastifyServerOptions['logger'];
  /** Extra route plugins under /v1, behind the bearer token (tests add probes here). */
  v1Plugins?: FastifyPluginAsyncZod[];
  /** Extra unauthenticated plugins at the root (tests add probes here). */
  rootPlugins?: Array<(scope: FastifyInstance) => Promise<void>>;
}
/**
 * Logger options that keep secrets out of every line, whatever gets logged. Lines go to stdout
 * through one shared destination that writes once per event-loop turn (see log-destination.ts).
 */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    stream: batchedStdout(),
    redact: {
      paths: ['req.headers.authorization', 'req.headers.apikey', 'req.headers.cookie', 'headers.authorization', 'headers.apikey', 'headers.cookie', '*.apiKey', '*.secret', '*.adminToken', '*.token'],
      censor: '[redacted]',
    },
  };
}

/**
 * Builds the HTTP app: plugins, routes, error handling. Never listens and never starts timers,
 * so tests can build as many as they like.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { fanout } = deps;
  const { services, config } = fanout;
  const app = Fastify({
    logger: deps.logger ?? false,
    logController: new OneLinePerRequest(),
    bodyLimit: BODY_LIMIT_BYTES,
    // /v1/campaigns/ and /v1/campaigns are one route: a trailing slash is not worth a 404.
    routerOptions: { ignoreTrailingSlash: true },
    // Both fire before any route or error handler exists for the request; see error-handler.ts.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerConnectionError,
  }).withTypeProvider<ZodTypeProvider>();
  // Fastify parses text/plain by default, so a non-JSON body reached the schemas as a string and
  // came back as a 400 naming "body". This API only speaks JSON: anything else is a 415.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  await registerSwagger(app, config.mode);

  await app.register(healthRoutes({ store: fanout.store, mode: config.mode }));
  await app.register(metricsRoute(fanout.metrics));
  for (const plugin of deps.rootPlugins ?? []) await app.register(plugin);
  await app.register(
    async (v1) => {
      registerBearerAuth(v1, services.tokens);
      await v1.register(campaignRoutes(services.campaigns));
      await v1.register(audienceRoutes(services.audience));
      await v1.register(sendRoutes(services.sends));
      await v1.register(syncRoutes(services.sync));
      await v1.register(statsRoutes(services.stats));
      await v1.register(tokenRoutes(services.tokens));
      for (const plugin of deps.v1Plugins ?? []) await v1.register(plugin);
    },
    { prefix: '/v1' },
  );
  // The dashboard at /, in its own encapsulated scope; without a session key (live mode and no
  // SESSION_SECRET) it is not served at all.
  // Imported only then, so a server without it never loads its templates, session and static plugins.
  if (config.session.secret !== null) {
    const { dashboardPlugin } = await import('./dashboard/plugin.ts');
    await app.register(dashboardPlugin(fanout));
  }
  return app;
}

import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { validatorCompiler, type FastifyPluginAsyncZod, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { campaignRoutes } from './campaigns/routes.ts';
import { systemClock, type Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Db } from './db/client.ts';
import { registerBearerAuth } from './http/auth.ts';
import { answerConnectionError, answerFrameworkError, registerErrorHandler } from './http/error-handler.ts';
import { healthRoutes } from './http/health.ts';
import { serializerCompiler } from './http/serializer.ts';
import { registerSwagger } from './http/swagger.ts';
import { createServices, type Services } from './services.ts';
import { tokenRoutes } from './tokens/routes.ts';

export const BODY_LIMIT_BYTES = 5 * 1024 * 1024;

export interface AppDeps {
  config: Config;
  db: Db;
  clock?: Clock;
  services?: Services;
  logger?: FastifyServerOptions['logger'];
  /** Extra route plugins under /v1 (sync and stats add theirs). */
  v1Plugins?: FastifyPluginAsyncZod[];
  /** Extra unauthenticated plugins at the root (metrics). */
  rootPlugins?: Array<(scope: FastifyInstance) => Promise<void>>;
}

/** Logger options that keep secrets out of every line, whatever gets logged. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.apikey', 'headers.authorization', 'headers.apikey', '*.apiKey', '*.secret', '*.adminToken'],
      censor: '[redacted]',
    },
  };
}

/**
 * Builds the HTTP app: plugins, routes, error handling. Never listens and never starts timers,
 * so tests can build as many as they like.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const services = deps.services ?? createServices({ db: deps.db, clock, adminToken: deps.config.adminToken });
  const app = Fastify({
    logger: deps.logger ?? false,
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
  await registerSwagger(app, deps.config.mode);

  await app.register(healthRoutes({ db: deps.db, mode: deps.config.mode }));
  for (const plugin of deps.rootPlugins ?? []) await app.register(plugin);
  await app.register(
    async (v1) => {
      registerBearerAuth(v1, services.tokens);
      await v1.register(campaignRoutes(services.campaigns));
      await v1.register(tokenRoutes(services.tokens));
      for (const plugin of deps.v1Plugins ?? []) await v1.register(plugin);
    },
    { prefix: '/v1' },
  );
  return app;
}

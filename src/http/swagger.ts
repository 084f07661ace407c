import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

type MediaTypes = Record<string, { example?: unknown }>;

function contentOf(response: unknown): MediaTypes | undefined {
  if (typeof response !== 'object' || response === null || !('content' in response)) return undefined;
  return response.content as MediaTypes;
}

/**
 * jsonSchemaTransform keeps only the schema of each response media type and drops its `example`,
 * and @fastify/swagger would drop an example placed beside the shared Problem `$ref`. So the
 * media type's example is carried over here: that is how every error status shows its own body
 * in Swagger UI while all of them point at the one Problem component.
 */
const transformKeepingExamples: typeof jsonSchemaTransform = (input) => {
  const output = jsonSchemaTransform(input);
  const declared = input.schema?.response as Record<string, unknown> | undefined;
  const documented = output.schema?.response as Record<string, unknown> | undefined;
  for (const [status, response] of Object.entries(declared ?? {})) {
    const from = contentOf(response);
    const to = contentOf(documented?.[status]);
    if (!from || !to) continue;
    for (const [type, media] of Object.entries(from)) {
      const target = to[type];
      if (media.example !== undefined && target) target.example = media.example;
    }
  }
  return output;
};

/** The OpenAPI document (/docs/json) and Swagger UI (/docs), generated from the route schemas. */
export async function registerSwagger(app: FastifyInstance, mode: 'sandbox' | 'live'): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Fanout',
        version: '0.1.0',
        description:
          'Campaign scheduler for OFAuth mass messages. Authorize with a bearer token (admin tokens come from ADMIN_TOKEN, ' +
          'or are printed once on the first sandbox start), then create a campaign with POST /v1/campaigns.' +
          (mode === 'sandbox' ? '\n\n**Sandbox mode**: OFAuth is the built-in simulator; nothing reaches real fans.' : ''),
      },
      tags: [
        { name: 'campaigns', description: 'Create, edit, schedule and cancel mass-message campaigns' },
        { name: 'sends', description: 'Each OFAuth mass message made from a campaign: one per one-shot campaign, one per occurrence of a series' },
        { name: 'stats', description: 'What happened to each campaign' },
        { name: 'sync', description: 'The loop that mirrors campaigns into OFAuth\'s queue' },
        { name: 'connections', description: 'OFAuth connections Fanout has seen, and their user lists (names and sizes) for audiences' },
        { name: 'tokens', description: 'API tokens (admin)' },
        { name: 'health', description: 'Liveness and mode' },
      ],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token secret (fo_…).' } },
      },
    },
    transform: transformKeepingExamples,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: true, tryItOutEnabled: true },
  });
}

import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError } from '../errors.ts';
import { problem, sendProblem } from './problem.ts';

const FASTIFY_CLIENT_ERRORS: Record<string, { code: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', title: 'Request body too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', title: 'Unsupported media type' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', title: 'Malformed JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'malformed_json', title: 'Empty JSON body' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request', title: 'Bad request' },
};

/** Coerces anything thrown (strings, plain objects) into an Error, so it can be logged whole. */
function coerceError(thrown: unknown): Error & Partial<FastifyError> {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `non-Error thrown: ${JSON.stringify(thrown)}`);
}

/**
 * The one place failures become RFC 9457 problem+json: AppErrors keep their status and code,
 * schema failures name every bad field, Fastify's own client errors keep their status, and
 * anything else is a logged 500 whose body says nothing about internals.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((thrown, request, reply) => {
    const error = coerceError(thrown);

    if (error instanceof AppError) {
      return sendProblem(reply, problem(error.status, error.code, error.title, error.message, error.errors));
    }

    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = (error as FastifyError).validationContext ?? 'request';
      const errors = error.validation.map((v) => ({
        path: `${where}${v.instancePath === '/' ? '' : v.instancePath}`,
        message: v.message ?? 'is invalid',
      }));
      const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
      return sendProblem(reply, problem(400, 'validation_failed', 'Request validation failed', detail, errors));
    }

    const known = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined;
    const status = error.statusCode ?? 500;
    if (known || (status >= 400 && status < 500)) {
      const { code, title } = known ?? { code: 'bad_request', title: 'Bad request' };
      return sendProblem(reply, problem(status, code, title, error.message));
    }

    request.log.error({ err: error, method: request.method, url: request.url, params: request.params }, 'unhandled error');
    return sendProblem(reply, problem(500, 'internal_error', 'Internal server error', 'Something went wrong on our side; the error was logged.'));
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, 'route_not_found', 'Not found', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );
}

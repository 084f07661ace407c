import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError } from '../errors.ts';
import { problem, sendProblem, type Problem } from './problem.ts';

/** Fastify's own client errors; `detail` replaces a message that would echo the whole URL. */
const FASTIFY_CLIENT_ERRORS: Record<string, { code: string; title: string; detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', title: 'Request body too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', title: 'Unsupported media type' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', title: 'Malformed JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'malformed_json', title: 'Empty JSON body' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'bad_request', title: 'Bad request' },
  FST_ERR_BAD_URL: { code: 'bad_url', title: 'Bad URL' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'uri_too_long', title: 'URI too long', detail: 'A path parameter in this URL is too long.' },
};

const INTERNAL_ERROR = problem(500, 'internal_error', 'Internal server error', 'Something went wrong on our side; the error was logged.');

/** Coerces anything thrown (strings, plain objects) into an Error, so it can be logged whole. */
function coerceError(thrown: unknown): Error & Partial<FastifyError> {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `non-Error thrown: ${JSON.stringify(thrown)}`);
}

/**
 * The problem body for anything thrown: AppErrors keep their status and code, schema failures
 * name every bad field, Fastify's own client errors keep their status, and anything else is a
 * 500 whose body says nothing about internals. Pure, so the OpenAPI examples are built with it.
 */
export function toProblem(thrown: unknown): Problem {
  const error = coerceError(thrown);

  if (error instanceof AppError) return problem(error.status, error.code, error.title, error.message, error.errors);

  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as FastifyError).validationContext ?? 'request';
    const errors = error.validation.map((v) => ({
      path: `${where}${v.instancePath === '/' ? '' : v.instancePath}`,
      message: v.message ?? 'is invalid',
    }));
    const detail = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    return problem(400, 'validation_failed', 'Request validation failed', detail, errors);
  }

  const known = error.code ? FASTIFY_CLIENT_ERRORS[error.code] : undefined;
  const status = error.statusCode ?? 500;
  if (known || (status >= 400 && status < 500)) {
    const { code, title, detail = error.message } = known ?? { code: 'bad_request', title: 'Bad request' };
    return problem(status, code, title, detail);
  }
  return INTERNAL_ERROR;
}

function answerError(thrown: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = toProblem(thrown);
  if (body.status >= 500) {
    request.log.error({ err: coerceError(thrown), method: request.method, url: request.url, params: request.params }, 'unhandled error');
  }
  return sendProblem(reply, body);
}

/**
 * Fastify's `frameworkErrors` option: the router's own failures (a malformed percent-encoding,
 * a path parameter over maxParamLength, a failing async constraint) are answered before any
 * route, hook or error handler exists for the request, so without this they go out as
 * Fastify's JSON instead of problem+json.
 */
export const answerFrameworkError: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, request, reply) => {
  answerError(error, request, reply);
};

const CONNECTION_ERRORS: Record<string, { status: number; code: string; title: string; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'request_timeout', title: 'Request timeout', detail: 'The request was not received in time.' },
  HPE_HEADER_OVERFLOW: { status: 431, code: 'headers_too_large', title: 'Request headers too large', detail: 'The request headers exceed the server\'s limit.' },
};

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refuses some requests (malformed, headers
 * over the limit, too slow) before Fastify has a request or reply for them, and Fastify's
 * default writes its own JSON straight to the socket. Same statuses, problem+json bodies.
 */
export function answerConnectionError(error: ConnectionError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CONNECTION_ERRORS[error.code] ?? { status: 400, code: 'bad_request', title: 'Bad request', detail: 'The request could not be parsed as HTTP.' };
  const body = JSON.stringify(problem(known.status, known.code, known.title, known.detail));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${known.status} ${STATUS_CODES[known.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** The one place failures become RFC 9457 problem+json, including unknown routes. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler(answerError);

  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(404, 'route_not_found', 'Not found', `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );
}

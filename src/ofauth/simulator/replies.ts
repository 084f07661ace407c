import type { FastifyReply } from 'fastify';

/**
 * OFAuth's documented error bodies (contract §5): format A `{error, type, requestId,
 * actionRequired?}`, format B `{error, code, details}` (validation as 422), the SDKs'
 * `{message, code}`, and 'text' for what a gateway in front of OFAuth might send (HTML).
 */
export type ErrorFormat = 'A' | 'B' | 'sdk' | 'text';

export type SimErrorType =
  | 'UNAUTHORIZED'
  | 'SESSION_NOT_PROVIDED'
  | 'SESSION_EXPIRED'
  | 'FORBIDDEN'
  | 'BAD_REQUEST'
  | 'RESOURCE_NOT_FOUND'
  | 'ROUTE_NOT_FOUND'
  | 'RATE_LIMIT_EXCEEDED'
  | 'UNKNOWN_ERROR';

/** Format B codes. Only the AUTH_* ones were captured from OFAuth's docs; the rest are guesses. */
const FORMAT_B_CODES: Record<SimErrorType, string> = {
  UNAUTHORIZED: 'AUTH_INVALID_KEY',
  SESSION_NOT_PROVIDED: 'CONNECTION_NOT_FOUND',
  SESSION_EXPIRED: 'CONNECTION_EXPIRED',
  FORBIDDEN: 'AUTH_INSUFFICIENT_SCOPE',
  BAD_REQUEST: 'VALIDATION_FAILED',
  RESOURCE_NOT_FOUND: 'NOT_FOUND',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  RATE_LIMIT_EXCEEDED: 'RATE_LIMIT_EXCEEDED',
  UNKNOWN_ERROR: 'INTERNAL_ERROR',
};

const STATUS: Record<SimErrorType, number> = {
  UNAUTHORIZED: 401,
  SESSION_NOT_PROVIDED: 401,
  SESSION_EXPIRED: 401,
  FORBIDDEN: 403,
  BAD_REQUEST: 400,
  RESOURCE_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  RATE_LIMIT_EXCEEDED: 429,
  UNKNOWN_ERROR: 500,
};

export interface ErrorExtras {
  actionRequired?: string;
  details?: unknown;
}

/** Sends an OFAuth-style error in the configured format; returns the reply for async hooks. */
export function sendError(
  reply: FastifyReply,
  format: ErrorFormat,
  requestId: string,
  type: SimErrorType,
  message: string,
  extras: ErrorExtras = {},
): FastifyReply {
  const status = format === 'B' && type === 'BAD_REQUEST' ? 422 : STATUS[type];
  reply.code(status);
  switch (format) {
    case 'A':
      return reply.send({
        error: message,
        type,
        requestId,
        ...(extras.actionRequired === undefined ? {} : { actionRequired: extras.actionRequired }),
      });
    case 'B':
      return reply.send({ error: message, code: FORMAT_B_CODES[type], details: extras.details ?? {} });
    case 'sdk':
      return reply.send({ message, code: type });
    case 'text':
      return reply
        .type('text/html; charset=utf-8')
        .send(`<html><head><title>${status}</title></head><body><h1>${status}</h1><p>${message}</p></body></html>`);
  }
}

import type { FastifyReply } from 'fastify';
import type { FieldProblem } from '../errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldProblem[];
}

/** Builds a problem body; `type` is a relative URI per code, documented in the README. */
export function problem(status: number, code: string, title: string, detail: string, errors?: FieldProblem[]): Problem {
  return { type: `/problems/${code}`, title, status, detail, code, ...(errors && errors.length > 0 ? { errors } : {}) };
}

/**
 * Sends a problem as application/problem+json. The body is serialized here rather than by the
 * route's response schema because failures can happen before a route is known (404, 415).
 */
export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply
    .code(body.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .serializer((payload: unknown) => JSON.stringify(payload))
    .send(body);
}

import { errorCodes } from 'fastify';
import {
  ConflictError,
  ForbiddenError,
  IdempotencyMismatchError,
  NotFoundError,
  UnauthorizedError,
  UpstreamError,
  ValidationError,
  type AppError,
} from '../errors.ts';
import { problemSchema } from './common-schemas.ts';
import { toProblem } from './error-handler.ts';
import type { Problem } from './problem.ts';

/** The media type sendProblem answers with, minus its charset parameter. */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

export interface ProblemResponse {
  description: string;
  content: { [PROBLEM_MEDIA_TYPE]: { schema: typeof problemSchema; example: Problem } };
}

const exampleCampaignId = 'cmp_01JH2X5Q8Z3M4N6P7R9S0T1V2W';

/**
 * One real failure per documented status. Each example is what toProblem makes of it, so Swagger
 * UI shows the body the API would really send rather than a hand-written look-alike.
 */
const exampleErrors = {
  400: new ValidationError('body/message/price: price must be 0 (free) or between 3 and 200', [
    { path: 'body/message/price', message: 'price must be 0 (free) or between 3 and 200' },
  ]),
  401: new UnauthorizedError(),
  403: new ForbiddenError('This token may not use connection conn_other.'),
  404: new NotFoundError('campaign', exampleCampaignId),
  409: new ConflictError('invalid_state', 'A scheduled campaign cannot be scheduled; only draft campaigns can.'),
  413: new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(),
  415: new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(),
  422: new IdempotencyMismatchError(),
  500: new Error('SQLITE_BUSY: database is locked'),
  502: new UpstreamError('OFAuth could not be asked for the lists of conn_sandbox: retryable 503 UNKNOWN_ERROR'),
} satisfies Record<number, Error>;

export type ProblemStatus = keyof typeof exampleErrors;

/** A problem+json response documented with `error` as its example. */
export function problemResponse(error: AppError | Error): ProblemResponse {
  const example = toProblem(error);
  return { description: example.title, content: { [PROBLEM_MEDIA_TYPE]: { schema: problemSchema, example } } };
}

/**
 * Route `response` entries for these error statuses, each served as application/problem+json
 * with its own example: `response: { 200: campaignSchema, ...problemResponses(404, 409) }`.
 */
export function problemResponses<S extends ProblemStatus>(...statuses: S[]): Record<S, ProblemResponse> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(exampleErrors[status])])) as Record<S, ProblemResponse>;
}

/** Responses every authenticated route can give besides its own. */
export const authProblemResponses = problemResponses(400, 401, 403, 500);

/** What a route with a JSON body can answer before its handler runs, on top of authProblemResponses. */
export const bodyProblemResponses = problemResponses(413, 415);

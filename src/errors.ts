/** One bad field of a request, as shown in a problem+json `errors` array. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * An expected failure with a stable `code`. Services throw these; the error handler is the one
 * place that turns them into RFC 9457 problem+json, so business code never speaks HTTP.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail: string,
    readonly errors?: FieldProblem[],
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(detail: string, errors: FieldProblem[] = []) {
    super(400, 'validation_failed', 'Request validation failed', detail, errors);
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'A valid bearer token is required.') {
    super(401, 'unauthorized', 'Unauthorized', detail);
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = 'This token may not perform this action.') {
    super(403, 'forbidden', 'Forbidden', detail);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super(404, 'not_found', 'Not found', `No ${what} with id ${id}.`);
  }
}

export class ConflictError extends AppError {
  constructor(code: string, detail: string) {
    super(409, code, 'Conflict with the current state', detail);
  }
}

export class IdempotencyMismatchError extends AppError {
  constructor() {
    super(
      422,
      'idempotency_key_reused',
      'Idempotency key reused with another request',
      'This Idempotency-Key was already used with a different request body in the last 24 hours.',
    );
  }
}

/** OFAuth could not answer a read the request depends on (an error, a timeout, a paused connection). */
export class UpstreamError extends AppError {
  constructor(detail: string) {
    super(502, 'ofauth_unavailable', 'OFAuth could not be asked', detail);
  }
}

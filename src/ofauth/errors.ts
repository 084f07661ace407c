/**
 * Every OFAuth failure, whatever its body format, becomes one OfauthError whose `kind` tells the
 * caller what to do: retry later, reconcile (the call may have taken effect), stop the
 * connection (auth), or give up (invalid).
 */

export type OfauthErrorKind = 'retryable' | 'ambiguous' | 'auth' | 'invalid';

export interface OfauthErrorInit {
  kind: OfauthErrorKind;
  message: string;
  operation: string;
  status?: number | null;
  code?: string | null;
  requestId?: string | null;
  actionRequired?: string | null;
  details?: unknown;
  retryAfterMs?: number | null;
  route?: string | null;
  attempts?: number;
  cause?: unknown;
}

/** The one error type every client call rejects with; branch on `kind`. */
export class OfauthError extends Error {
  override name = 'OfauthError';
  readonly kind: OfauthErrorKind;
  /** HTTP status, or null when no answer arrived (network error, timeout, abort). */
  readonly status: number | null;
  /** OFAuth's `type` (format A) or `code` (format B/SDK), or a client code such as TIMEOUT. */
  readonly code: string | null;
  readonly requestId: string | null;
  readonly actionRequired: string | null;
  readonly details: unknown;
  /** Client operation name, e.g. `createMassMessage`. */
  readonly operation: string;
  /** How long OFAuth asked us to wait (Retry-After or X-RateLimit-Reset), when it said. */
  readonly retryAfterMs: number | null;
  /** Route template (no ids, no query) the failing call used. */
  readonly route: string | null;
  /** Attempts made before giving up (1 when not retried). */
  readonly attempts: number;

  constructor(init: OfauthErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status ?? null;
    this.code = init.code ?? null;
    this.requestId = init.requestId ?? null;
    this.actionRequired = init.actionRequired ?? null;
    this.details = init.details ?? null;
    this.operation = init.operation;
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.route = init.route ?? null;
    this.attempts = init.attempts ?? 1;
  }

  /** Same error with another kind or attempt count; used when retry context changes the meaning. */
  with(changes: Partial<Pick<OfauthErrorInit, 'kind' | 'attempts' | 'message'>>): OfauthError {
    return new OfauthError({
      kind: changes.kind ?? this.kind,
      message: changes.message ?? this.message,
      operation: this.operation,
      status: this.status,
      code: this.code,
      requestId: this.requestId,
      actionRequired: this.actionRequired,
      details: this.details,
      retryAfterMs: this.retryAfterMs,
      route: this.route,
      attempts: changes.attempts ?? this.attempts,
      cause: this.cause,
    });
  }
}

/** Type guard that also works across module copies (checks the name and kind, not only the class). */
export function isOfauthError(error: unknown): error is OfauthError {
  return (
    error instanceof OfauthError ||
    (error instanceof Error && error.name === 'OfauthError' && typeof (error as { kind?: unknown }).kind === 'string')
  );
}

export interface ParsedErrorBody {
  message: string | null;
  code: string | null;
  requestId: string | null;
  actionRequired: string | null;
  details: unknown;
}

const MAX_TEXT_IN_MESSAGE = 200;

function asString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * Reads the three documented error shapes — format A `{error, type, requestId, actionRequired}`,
 * format B `{error, code, details}`, the SDKs' `{message, code}` — and non-JSON text (gateway
 * HTML). An `error` that is itself an object is read the same way, one level down.
 */
export function parseErrorBody(text: string): ParsedErrorBody {
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    const trimmed = text.replace(/\s+/g, ' ').trim();
    return {
      message: trimmed === '' ? null : trimmed.slice(0, MAX_TEXT_IN_MESSAGE),
      code: null,
      requestId: null,
      actionRequired: null,
      details: null,
    };
  }
  const record = body as Record<string, unknown>;
  const nested = record.error !== null && typeof record.error === 'object' ? (record.error as Record<string, unknown>) : null;
  return {
    message: asString(record.error) ?? asString(record.message) ?? asString(nested?.message) ?? null,
    code: asString(record.type) ?? asString(record.code) ?? asString(nested?.type) ?? asString(nested?.code) ?? null,
    requestId: asString(record.requestId) ?? asString(record.request_id) ?? asString(nested?.requestId) ?? null,
    actionRequired: asString(record.actionRequired) ?? null,
    details: record.details ?? nested?.details ?? null,
  };
}

/** OFAuth says RULES_OUTDATED fixes itself and should be retried, although it is a 401. */
const RETRYABLE_AUTH_CODES = new Set(['RULES_OUTDATED']);

/**
 * Kind of an HTTP error answer. `mayHaveCommitted` is true for a create: a 5xx there may come
 * after the message was queued (OFAuth has no idempotency key), so it must not be replayed.
 */
export function classifyStatus(status: number, code: string | null, mayHaveCommitted: boolean): OfauthErrorKind {
  if (status === 429) return 'retryable';
  if (status === 401 || status === 403) {
    return code !== null && RETRYABLE_AUTH_CODES.has(code) ? 'retryable' : 'auth';
  }
  if (status >= 500) {
    if (mayHaveCommitted) return 'ambiguous';
    // 501/505 say the server will never do this; other 5xx (incl. CDN 52x) are transient.
    return status === 501 || status === 505 ? 'invalid' : 'retryable';
  }
  return 'invalid';
}

/** Removes a secret from text that may echo it (error bodies, undici messages with headers). */
export function redact(text: string, secret: string): string {
  if (secret === '') return text;
  return text.split(secret).join('[redacted]');
}

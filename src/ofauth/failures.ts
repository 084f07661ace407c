import { OfauthError, classifyStatus, parseErrorBody, redact } from './errors.ts';
import type { HttpResponse, TransportError } from './http.ts';
import { computeHintedWaitMs, type RateLimitHints } from './retry.ts';

interface FailureContext {
  operation: string;
  route: string;
  apiKey: string;
}

function firstHeader(value: string | string[] | undefined): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? null : first;
}

/** Turns a non-2xx answer into an OfauthError, whatever the body format. */
export function describeHttpFailure(
  response: HttpResponse,
  hints: RateLimitHints,
  context: FailureContext & { mayHaveCommitted: boolean },
): OfauthError {
  const parsed = parseErrorBody(response.text);
  const kind = classifyStatus(response.status, parsed.code, context.mayHaveCommitted);
  // Only a 429 or 503 asks us to wait; on other answers the reset hint is informational.
  const retryAfterMs =
    response.status === 429 ? computeHintedWaitMs(hints) : response.status === 503 ? hints.retryAfterMs : null;
  const message = parsed.message ?? `HTTP ${response.status}`;
  return new OfauthError({
    kind,
    operation: context.operation,
    route: context.route,
    status: response.status,
    code: parsed.code,
    requestId: parsed.requestId ?? firstHeader(response.headers['x-request-id']),
    actionRequired: parsed.actionRequired,
    details: parsed.details,
    retryAfterMs,
    message: redact(`${context.operation} failed: ${response.status} ${message}`, context.apiKey),
  });
}

/**
 * Turns a lost answer into an OfauthError. Nothing sent: safe to replay. Sent: a read is still
 * safe to replay, a write may have taken effect and is handed back as 'ambiguous'.
 */
export function describeTransportFailure(error: TransportError, context: FailureContext & { mutating: boolean }): OfauthError {
  const kind = error.requestSent && context.mutating ? 'ambiguous' : 'retryable';
  const code = error.failure === 'timeout' ? 'TIMEOUT' : error.failure === 'aborted' ? 'ABORTED' : 'NETWORK_ERROR';
  const stage = error.requestSent ? 'after sending' : 'before sending';
  return new OfauthError({
    kind,
    operation: context.operation,
    route: context.route,
    code,
    details: { transportCode: error.code, requestSent: error.requestSent },
    message: redact(`${context.operation} failed ${stage}: ${error.message}`, context.apiKey),
    cause: error,
  });
}

/** True for AbortSignal reasons and abort errors from timers/undici. */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

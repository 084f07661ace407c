import type { Dispatcher } from 'undici';
import type { HttpMethod } from './endpoints.ts';

export interface HttpRequest {
  origin: string;
  path: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The request was handed to a connected socket (once, before its bytes are written). */
  onSent?: () => void;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export type TransportFailure = 'timeout' | 'aborted' | 'network';

/**
 * No HTTP answer arrived. `requestSent` separates "never left this process" (safe to replay,
 * even a create) from "written to the socket, answer lost" (OFAuth may have acted on it).
 */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly failure: TransportFailure;
  readonly requestSent: boolean;
  readonly code: string | null;

  constructor(failure: TransportFailure, requestSent: boolean, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.failure = failure;
    this.requestSent = requestSent;
    this.code = cause instanceof Error && 'code' in cause && typeof cause.code === 'string' ? cause.code : null;
  }
}

/**
 * One HTTP exchange through undici's dispatcher API. The low-level handler is used instead of
 * `request()` because only `onRequestStart` tells us the request was handed to a live socket:
 * undici re-queues requests not yet written when a kept-alive socket dies, so an error before
 * that point means OFAuth never saw the request.
 */
export function sendHttp(dispatcher: Dispatcher, request: HttpRequest): Promise<HttpResponse> {
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    let requestSent = false;
    let controller: Dispatcher.DispatchController | null = null;
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    const chunks: Buffer[] = [];

    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const fail = (failure: TransportFailure, message: string, cause?: unknown): void => {
      finish(() => reject(new TransportError(failure, requestSent, message, cause)));
      if (controller !== null && !controller.aborted) controller.abort(new Error(message));
    };
    const onAbort = (): void => fail('aborted', 'request aborted by caller', request.signal?.reason);

    const timer = setTimeout(() => fail('timeout', `no answer within ${request.timeoutMs} ms`), request.timeoutMs);
    if (request.signal?.aborted) {
      onAbort();
      return;
    }
    request.signal?.addEventListener('abort', onAbort, { once: true });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctrl) {
        controller = ctrl;
        // Timed out or aborted while still connecting: drop it before a byte is written.
        if (settled) {
          ctrl.abort(new Error('request abandoned before sending'));
        } else if (!requestSent) {
          requestSent = true;
          request.onSent?.();
        }
      },
      onResponseStart(_ctrl, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders as Record<string, string | string[] | undefined>;
      },
      onResponseData(_ctrl, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        finish(() => resolve({ status, headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
      onResponseError(_ctrl, error) {
        fail('network', error.message, error);
      },
    };

    try {
      dispatcher.dispatch(
        {
          origin: request.origin,
          path: request.path,
          method: request.method,
          headers: request.headers,
          body: request.body ?? null,
        },
        handler,
      );
    } catch (error) {
      fail('network', error instanceof Error ? error.message : String(error), error);
    }
  });
}

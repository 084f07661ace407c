import type { EventEmitter } from 'node:events';
/** What the API client needs of the server it talks to: one process, or a group behind one face. */
export interface ServerLike {
  /** Read per request: a group answers with one of its live members. */
  readonly baseUrl: string;
  readonly generation: number;
  readonly isUp: boolean;
  ready(minGeneration?: number): Promise<number>;
}

/** The request may or may not have reached the server: the connection died (SIGKILL) under it. */
export class ServerGoneError extends Error {
  override name = 'ServerGoneError';
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** Generous: a healthy server answers in milliseconds; this only turns a hang into a failure. */
const REQUEST_TIMEOUT_MS = 20_000;
/** Failures while the same server generation still looks up: a real problem after this many. */
const MAX_TRANSIENT_FAILURES = 5;

export interface CampaignView {
  id: string;
  name: string;
  connectionId: string;
  status: string;
  scheduledAt: string | null;
  message: { text: string; price: number };
  /** Set for a series, whose `sync` is null (each of its sends has one): see series.ts. */
  recurrence?: object | null;
  sync: {
    state: string;
    remoteId: string | null;
    revision: number;
    syncedRevision: number;
    attempts: number;
    lastError: string | null;
    nextAttemptAt: string | null;
  };
}

/**
 * Fanout's HTTP API as the marketer's tooling sees it, over real sockets to the child (through
 * `baseUrl`, e.g. an ApiProxy). Emits 'api-write' on `activity` as each write starts.
 */
export function createApi(server: ServerLike, token: string, options: { baseUrl?: string; activity?: EventEmitter } = {}) {
  async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    if (method !== 'GET') options.activity?.emit('api-write');
    const baseUrl = options.baseUrl ?? server.baseUrl;
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') throw new Error(`${method} ${path} got no answer within ${REQUEST_TIMEOUT_MS} ms`, { cause: error });
      throw new ServerGoneError(`${method} ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
  }

  /**
   * Waits after a ServerGoneError seen on a request sent under `generation`: for the next server
   * when that one is gone, at once when it is still up (a stray socket error; bounded).
   */
  async function recover(generation: number, transientSoFar: number): Promise<number> {
    if (server.isUp && server.generation === generation) {
      if (transientSoFar + 1 >= MAX_TRANSIENT_FAILURES) throw new Error(`API calls keep failing while server generation ${generation} is up`);
      return transientSoFar + 1;
    }
    await server.ready(generation + 1);
    return 0;
  }

  /** GET that rides out restarts: reads are safe to repeat. */
  async function read(path: string): Promise<ApiResponse> {
    let transient = 0;
    for (;;) {
      const generation = await server.ready();
      try {
        return await send('GET', path);
      } catch (error) {
        if (!(error instanceof ServerGoneError)) throw error;
        transient = await recover(generation, transient);
      }
    }
  }

  return { send, recover, read };
}

export type Api = ReturnType<typeof createApi>;

/** Throws a descriptive error unless the response has the expected status. */
export function expectStatus(response: ApiResponse, status: number, what: string): void {
  if (response.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${response.status} ${JSON.stringify(response.body)}`);
  }
}

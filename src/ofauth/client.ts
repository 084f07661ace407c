import { Agent } from 'undici';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { systemClock, type Clock } from '../clock.ts';
import { parseChatMessage, parseChatMessagePage, type ChatMessage, type ChatMessageBody, type ChatMessagePage } from './chat-responses.ts';
import { buildPath, endpointFamilies, mutatingOperations, unkeyedCreates, type EndpointFamily, type OperationName } from './endpoints.ts';
import { OfauthError, redact } from './errors.ts';
import { describeHttpFailure, describeTransportFailure, isAbort } from './failures.ts';
import { sendHttp, TransportError, type HttpResponse } from './http.ts';
import { RateLimiter, defaultRateLimit, type RateLimitOptions, type Sleep } from './rate-limiter.ts';
import {
  parseAddUserResult,
  parseBuyersPage,
  parseChatPage,
  parseDeleteResult,
  parseQueueStatus,
  parseStatsItem,
  parseStatsPage,
  parseUserList,
  parseUserListPage,
  type ParseResult,
} from './responses.ts';
import { computeBackoffMs, defaultRetryPolicy, readRateLimitHints, type RetryPolicy } from './retry.ts';
import {
  massMessageBodySchema,
  type BuyersPage,
  type ChatFilterQuery,
  type ChatPage,
  type DeleteResult,
  type MassMessageBody,
  type QueueStatus,
  type StatsItem,
  type StatsPage,
  type StatsType,
  type UserList,
  type UserListPage,
} from './schemas.ts';

export interface OfauthLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RequestInfo {
  connectionId: string;
  operation: string;
  route: string;
  /** Null when no answer arrived. */
  status: number | null;
  durationMs: number;
}

export interface OfauthClientOptions {
  baseUrl: string;
  apiKey: string;
  endpoints?: EndpointFamily;
  rateLimit?: RateLimitOptions;
  retry?: RetryPolicy;
  timeoutMs?: number;
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
  logger?: OfauthLogger;
  onRequest?: (info: RequestInfo) => void;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface OfauthClient {
  /** Never replayed once the request may have reached OFAuth (5xx, timeout, reset after sending: kind 'ambiguous'); a 429 or a connect error is retried. */
  createMassMessage(connectionId: string, body: MassMessageBody, opts?: CallOptions): Promise<QueueStatus>;
  /**
   * Full replace (send the whole body); re-read `id` from the answer. A 5xx is replayed (a
   * replace is idempotent); a lost answer after sending, or giving up after a 5xx, is 'ambiguous'.
   */
  updateMassMessage(connectionId: string, id: number | string, body: MassMessageBody, opts?: CallOptions): Promise<QueueStatus>;
  /**
   * Cancels a scheduled message or unsends a sent one; a 2xx with success:false throws kind
   * 'invalid'. Like update: 5xx replayed, lost answers 'ambiguous', and a 4xx on a replay after a
   * 5xx ("already canceled") is 'ambiguous' too, since the first attempt may have done it.
   */
  deleteMassMessage(connectionId: string, id: number | string, opts?: CallOptions): Promise<DeleteResult>;
  getMassMessage(connectionId: string, id: number | string, opts?: CallOptions): Promise<StatsItem>;
  /** One page, newest first. limit defaults to 20, the documented maximum. */
  listMassMessages(connectionId: string, q: { type: StatsType; limit?: number; offset?: number }, opts?: CallOptions): Promise<StatsPage>;
  listUserLists(connectionId: string, q?: { limit?: number; offset?: number; query?: string }, opts?: CallOptions): Promise<UserListPage>;
  getUserList(connectionId: string, listId: string | number, opts?: CallOptions): Promise<UserList>;
  /** Never replayed after a 5xx or a lost answer ('ambiguous'): look the list up by name first. */
  createUserList(connectionId: string, name: string, opts?: CallOptions): Promise<UserList>;
  /** Taken to be idempotent (adding a member again changes nothing), so it is replayed like a read. */
  addUserToList(connectionId: string, listId: string | number, userId: number, opts?: CallOptions): Promise<{ hasUser: boolean | null }>;
  /** One page of a mass message's buyers: by `marker` when OFAuth gave one, else by offset. limit ≤ 20. */
  listMassMessageBuyers(connectionId: string, massMessageId: string | number, q: { marker?: string | null; offset?: number; limit?: number }, opts?: CallOptions): Promise<BuyersPage>;
  /** One page of chats, most recent activity first unless `order` says otherwise; limit defaults to 20, the documented maximum. */
  listChats(connectionId: string, q: ChatFilterQuery & { limit?: number; offset?: number; order?: 'recent' | 'old' }, opts?: CallOptions): Promise<ChatPage>;
  /** One chat message to one fan; like a create, never replayed once it may have left ('ambiguous'). */
  sendChatMessage(connectionId: string, userId: number, body: ChatMessageBody, opts?: CallOptions): Promise<ChatMessage>;
  /** One page of a fan's chat, newest first (assumed; the docs do not say). limit at most 20. */
  listChatMessages(connectionId: string, userId: number, q?: { limit?: number; offset?: number }, opts?: CallOptions): Promise<ChatMessagePage>;
  /**
   * Unsends a chat message (body `{withUserId}`): the guide's path, then the SDK's when the first
   * is not routed (404 ROUTE_NOT_FOUND). success:false throws 'invalid'.
   */
  deleteChatMessage(connectionId: string, messageId: string | number, withUserId: number, opts?: CallOptions): Promise<DeleteResult>;
  /** Tokens a connection's bucket could spend now without waiting (for the stats poller's budget). */
  availableTokens(connectionId: string): number;
  /** Milliseconds until availableTokens would reach 1 with nothing spent meanwhile (0: now). */
  msUntilToken(connectionId: string): number;
  /** The connection's bucket starts over empty: another process was spending it until now (a lease takeover). */
  assumeSpent(connectionId: string): void;
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const MAX_STATS_LIMIT = 20;
const MAX_LISTS_LIMIT = 100;
/** Contract §3.6: buyers pages hold at most 20. */
const MAX_BUYERS_LIMIT = 20;
const MAX_CHATS_LIMIT = 20;

interface CallSpec<T> {
  connectionId: string;
  operation: OperationName;
  id?: string | number;
  userId?: string | number;
  query?: Record<string, string | number | undefined>;
  body?: MassMessageBody;
  /** A body that is not a mass message (a list's name). */
  otherBody?: Record<string, unknown>;
  parse: (body: unknown) => ParseResult<T>;
  signal?: AbortSignal;
}

const defaultSleep: Sleep = (ms, signal) => delay(ms, undefined, signal === undefined ? {} : { signal });

/** Builds the OFAuth Access API client. One undici Agent (keep-alive) per client; call close() to release it. */
export function createOfauthClient(options: OfauthClientOptions): OfauthClient {
  const base = new URL(options.baseUrl);
  const pathPrefix = base.pathname.replace(/\/+$/, '');
  const endpoints = endpointFamilies[options.endpoints ?? 'queue'];
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const retry = { ...defaultRetryPolicy, ...options.retry };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limiter = new RateLimiter(options.rateLimit ?? defaultRateLimit, clock, sleep);
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    connect: { timeout: Math.min(timeoutMs, 10_000) },
  });
  const apiKey = options.apiKey;

  function send(connectionId: string, method: string, path: string, body: string | undefined, signal?: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      apiKey,
      'x-connection-id': connectionId,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return sendHttp(agent, {
      origin: base.origin,
      path,
      method: method as 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs,
      ...(signal === undefined ? {} : { signal }),
      onSent: () => limiter.sent(connectionId),
    });
  }

  function pathFor<T>(spec: CallSpec<T>, route: string): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) params.set(key, String(value));
    }
    const query = params.toString();
    return pathPrefix + buildPath(route, { id: spec.id, userId: spec.userId }) + (query === '' ? '' : `?${query}`);
  }

  async function call<T>(spec: CallSpec<T>): Promise<T> {
    const { connectionId, operation, signal } = spec;
    const endpoint = endpoints[operation];
    const context = { operation, route: endpoint.route };
    if (connectionId === '') {
      throw new OfauthError({ ...context, kind: 'invalid', code: 'CLIENT_VALIDATION', message: 'connectionId is empty' });
    }
    if (spec.body !== undefined) {
      const checked = massMessageBodySchema.safeParse(spec.body);
      if (!checked.success) {
        throw new OfauthError({
          ...context,
          kind: 'invalid',
          code: 'CLIENT_VALIDATION',
          message: `mass-message body rejected before sending: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          details: checked.error.issues,
        });
      }
    }
    const path = pathFor(spec, endpoint.route);
    const payload = spec.body ?? spec.otherBody;
    const body = payload === undefined ? undefined : JSON.stringify(payload);
    const mutating = mutatingOperations.has(operation);
    const startedAt = clock.now();
    // Set once a mutating attempt got an answer that may follow a commit (5xx): a later 4xx
    // ("already canceled") may then be the echo of our own earlier success.
    let mayHaveCommitted = false;

    for (let attempt = 1; ; attempt += 1) {
      let error: OfauthError;
      try {
        await limiter.acquire(connectionId, signal);
      } catch (cause) {
        throw abortError(context, mayHaveCommitted, attempt, cause);
      }
      const sentAt = performance.now();
      try {
        const response = await send(connectionId, endpoint.method, path, body, signal).finally(() =>
          limiter.confirm(connectionId),
        );
        const hints = readRateLimitHints(response.headers, clock.now());
        limiter.observe(connectionId, hints);
        report(connectionId, context, response.status, performance.now() - sentAt, attempt);
        if (response.status >= 200 && response.status < 300) {
          const outcome = parseSuccess(spec, response.text);
          if (outcome.ok) return outcome.value;
          error = outcome.error;
        } else {
          error = describeHttpFailure(response, hints, { ...context, apiKey, mayHaveCommitted: unkeyedCreates.has(operation) });
        }
      } catch (cause) {
        if (!(cause instanceof TransportError)) throw cause;
        report(connectionId, context, null, performance.now() - sentAt, attempt);
        error = describeTransportFailure(cause, { ...context, apiKey, mutating });
      }

      if (error.kind === 'invalid' && mayHaveCommitted && error.status !== null) {
        error = error.with({ kind: 'ambiguous', message: `${error.message} (an earlier attempt answered 5xx and may have taken effect)` });
      }
      if (signal?.aborted === true && mayHaveCommitted) throw error.with({ kind: 'ambiguous', attempts: attempt });
      if (error.kind !== 'retryable' || signal?.aborted === true) throw error.with({ attempts: attempt });
      if (mutating && error.status !== null && error.status >= 500) mayHaveCommitted = true;

      const waitMs = error.retryAfterMs ?? computeBackoffMs(attempt, retry, random);
      if (error.status === 429) limiter.block(connectionId, waitMs);
      const elapsed = clock.now() - startedAt;
      if (attempt >= retry.maxAttempts || elapsed + waitMs > retry.maxTotalMs) {
        // Giving up on a write that met a 5xx: one of its attempts may have been applied.
        throw error.with({ attempts: attempt, ...(mayHaveCommitted ? { kind: 'ambiguous' as const } : {}) });
      }
      options.logger?.warn(
        { connectionId, operation, route: endpoint.route, attempt, status: error.status, code: error.code, waitMs },
        'ofauth call failed, retrying',
      );
      try {
        await sleep(waitMs, signal);
      } catch (cause) {
        throw abortError(context, mayHaveCommitted, attempt, cause);
      }
    }
  }

  function parseSuccess<T>(spec: CallSpec<T>, text: string): { ok: true; value: T } | { ok: false; error: OfauthError } {
    const context = { operation: spec.operation, route: endpoints[spec.operation].route };
    let json: unknown = null;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const parsed = json === undefined ? ({ ok: false, issues: 'body is not JSON' } as const) : spec.parse(json);
    if (parsed.ok) return parsed;
    // A 2xx to a create means a message exists whose id we could not read: the caller reconciles.
    const kind = unkeyedCreates.has(spec.operation) ? 'ambiguous' : 'invalid';
    return {
      ok: false,
      error: new OfauthError({ ...context, kind, code: 'INVALID_RESPONSE', message: redact(`unreadable 2xx answer: ${parsed.issues}`, apiKey) }),
    };
  }

  function report(connectionId: string, context: { operation: string; route: string }, status: number | null, durationMs: number, attempt: number): void {
    const info = { connectionId, ...context, status, durationMs: Math.round(durationMs * 10) / 10 };
    options.logger?.debug({ ...info, attempt }, 'ofauth request');
    try {
      options.onRequest?.(info);
    } catch {
      // A metrics callback must not turn a successful call into a failure.
    }
  }

  const statsLimit = (limit: number | undefined) => Math.min(MAX_STATS_LIMIT, Math.max(1, Math.floor(limit ?? MAX_STATS_LIMIT)));
  const listsLimit = (limit: number | undefined) => Math.min(MAX_LISTS_LIMIT, Math.max(1, Math.floor(limit ?? MAX_LISTS_LIMIT)));

  return {
    createMassMessage: (connectionId, body, opts) =>
      call({ connectionId, operation: 'createMassMessage', body, parse: parseQueueStatus, ...opts }),
    updateMassMessage: (connectionId, id, body, opts) =>
      call({
        connectionId,
        operation: 'updateMassMessage',
        id,
        body,
        // The update happened; an answer without a readable id keeps the id we addressed.
        parse: (json) => {
          const parsed = parseQueueStatus(json);
          return parsed.ok || !/^\d+$/.test(String(id)) ? parsed : { ok: true, value: { id: Number(id), date: null } };
        },
        ...opts,
      }),
    deleteMassMessage: async (connectionId, id, opts) => {
      const result = await call({ connectionId, operation: 'deleteMassMessage', id, parse: parseDeleteResult, ...opts });
      if (!result.success) {
        throw new OfauthError({
          kind: 'invalid',
          operation: 'deleteMassMessage',
          route: endpoints.deleteMassMessage.route,
          status: 200,
          code: 'DELETE_FAILED',
          message: 'OFAuth answered success:false to the delete',
          details: result.queue,
        });
      }
      return result;
    },
    getMassMessage: (connectionId, id, opts) => call({ connectionId, operation: 'getMassMessage', id, parse: parseStatsItem, ...opts }),
    listMassMessages: (connectionId, q, opts) => {
      const limit = statsLimit(q.limit);
      return call({
        connectionId,
        operation: 'listMassMessages',
        query: { type: q.type, limit, offset: Math.max(0, Math.floor(q.offset ?? 0)) },
        parse: (json) => parseStatsPage(json, limit),
        ...opts,
      });
    },
    listUserLists: (connectionId, q = {}, opts) => {
      const limit = listsLimit(q.limit);
      return call({
        connectionId,
        operation: 'listUserLists',
        query: { limit, offset: Math.max(0, Math.floor(q.offset ?? 0)), query: q.query === '' ? undefined : q.query },
        parse: (json) => parseUserListPage(json, limit),
        ...opts,
      });
    },
    getUserList: (connectionId, listId, opts) => call({ connectionId, operation: 'getUserList', id: listId, parse: parseUserList, ...opts }),
    createUserList: (connectionId, name, opts) => call({ connectionId, operation: 'createUserList', otherBody: { name }, parse: parseUserList, ...opts }),
    addUserToList: (connectionId, listId, userId, opts) =>
      call({ connectionId, operation: 'addUserToList', id: listId, userId, otherBody: {}, parse: parseAddUserResult, ...opts }),
    listMassMessageBuyers: (connectionId, massMessageId, q, opts) => {
      const limit = Math.min(MAX_BUYERS_LIMIT, Math.max(1, Math.floor(q.limit ?? MAX_BUYERS_LIMIT)));
      const cursor = q.marker ? { marker: q.marker } : { offset: Math.max(0, Math.floor(q.offset ?? 0)) };
      return call({ connectionId, operation: 'listMassMessageBuyers', id: massMessageId, query: { limit, ...cursor }, parse: (json) => parseBuyersPage(json, limit), ...opts });
    },
    listChats: (connectionId, q, opts) => {
      const limit = Math.min(MAX_CHATS_LIMIT, Math.max(1, Math.floor(q.limit ?? MAX_CHATS_LIMIT)));
      return call({
        connectionId,
        operation: 'listChats',
        query: { limit, offset: Math.max(0, Math.floor(q.offset ?? 0)), order: q.order ?? 'recent', filter: q.filter, userListId: q.userListId },
        parse: (json) => parseChatPage(json, limit),
        ...opts,
      });
    },
    sendChatMessage: (connectionId, userId, body, opts) =>
      call({ connectionId, operation: 'sendChatMessage', userId, body, parse: parseChatMessage, ...opts }),
    listChatMessages: (connectionId, userId, q = {}, opts) => {
      const limit = statsLimit(q.limit);
      return call({
        connectionId,
        operation: 'listChatMessages',
        userId,
        query: { limit, offset: Math.max(0, Math.floor(q.offset ?? 0)) },
        parse: (json) => parseChatMessagePage(json, limit),
        ...opts,
      });
    },
    deleteChatMessage: async (connectionId, messageId, withUserId, opts) => {
      const spec = { connectionId, id: messageId, userId: withUserId, otherBody: { withUserId }, parse: parseDeleteResult, ...opts };
      let result: DeleteResult;
      try {
        result = await call({ ...spec, operation: 'deleteChatMessage' });
      } catch (error) {
        if (!(error instanceof OfauthError && error.status === 404 && error.code === 'ROUTE_NOT_FOUND')) throw error;
        result = await call({ ...spec, operation: 'deleteChatMessageInChat' });
      }
      if (!result.success) {
        throw new OfauthError({ kind: 'invalid', operation: 'deleteChatMessage', route: endpoints.deleteChatMessage.route, status: 200, code: 'DELETE_FAILED', message: 'OFAuth answered success:false to the unsend' });
      }
      return result;
    },
    availableTokens: (connectionId) => limiter.available(connectionId),
    msUntilToken: (connectionId) => limiter.msUntilAvailable(connectionId),
    assumeSpent: (connectionId) => limiter.assumeSpent(connectionId),
    close: () => agent.close(),
  };

  function abortError(context: { operation: string; route: string }, mayHaveCommitted: boolean, attempt: number, cause: unknown): OfauthError {
    if (cause instanceof OfauthError) return cause;
    return new OfauthError({
      ...context,
      kind: mayHaveCommitted ? 'ambiguous' : 'retryable',
      code: isAbort(cause) ? 'ABORTED' : 'CLIENT_ERROR',
      message: isAbort(cause) ? 'call aborted by caller' : redact(String(cause), apiKey),
      attempts: attempt,
      cause,
    });
  }
}

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { setTimeout as delay } from 'node:timers/promises';
import { systemClock, type Clock } from '../../clock.ts';
import type { SimContext, SimDeps } from './context.ts';
import { FaultInjector, type FaultDecision, type FaultOptions } from './faults.ts';
import { describeMessage, type SimMessage } from './inspect.ts';
import { takeSnapshot, type LifecycleConfig } from './lifecycle.ts';
import { buyersOf, recipientsOf } from './buyers.ts';
import type { SimQuirks } from './render.ts';
import { sendError, type ErrorFormat } from './replies.ts';
import { SimRateLimiter } from './rate-limit.ts';
import { registerChatListRoutes } from './routes-chat-list.ts';
import { SimChatStore, registerChatMessageRoutes, type SimChatMessageView } from './chat-messages.ts';
import { registerInspectRoutes } from './routes-inspect.ts';
import { registerFollowUpRoutes } from './routes-follow-ups.ts';
import { registerListRoutes } from './routes-lists.ts';
import { registerMessageRoutes } from './routes-messages.ts';
import { SimStore, defaultConnections, toSimChat, type SimConnectionInput } from './store.ts';

export type { FaultOptions } from './faults.ts';
export type { SimMessage } from './inspect.ts';
export type { SimQuirks } from './render.ts';
export type { ErrorFormat } from './replies.ts';
export type { SimChatInput, SimConnectionInput } from './store.ts';
export type { SimChatMessageView } from './chat-messages.ts';

export interface SimulatorOptions {
  /** Default systemClock. States are derived from it on every request; no timers run. */
  clock?: Clock;
  /** Default ['sim_key_sandbox']. */
  apiKeys?: string[];
  /** Default one 'conn_sandbox' with a few lists. */
  connections?: SimConnectionInput[];
  /** Per connection; default 90 tokens, 1/s. `false` turns limiting off. */
  rateLimit?: { capacity: number; refillPerSecond: number } | false;
  /** X-RateLimit-Reset as seconds until full (default) or epoch seconds. */
  rateLimitReset?: 'seconds' | 'epoch';
  /** Send Retry-After on 429 (default false: OFAuth documents none). */
  retryAfter?: boolean;
  /** sending → sent (default 60 s). */
  sendDurationMs?: number;
  /** After sent, DELETE unsends within this (default 5 min); a chat message, within this of its send. */
  unsendWindowMs?: number;
  /** How fast views and purchases grow after sending (default 30 min): the crash test's follow-ups want buyers in seconds. */
  viewTimeConstantMs?: number;
  /** Error body format; default 'A'. 'B' answers validation errors with 422. */
  errorFormat?: ErrorFormat;
  faults?: FaultOptions;
  /** Seeds who buys a PPV (buyers accumulate in one seeded order as its purchase count grows); default 1. */
  buyersSeed?: number;
  quirks?: SimQuirks;
  logger?: boolean;
}

export interface Simulator {
  app: FastifyInstance;
  store: SimStore;
  clock: Clock;
  /** First configured API key and connection, for convenience. */
  apiKey: string;
  connectionId: string;
  setFaults(faults: FaultOptions): void;
  setErrorFormat(format: ErrorFormat): void;
  /** Empties the store, buckets and request counts, and re-applies the faults it was built with (reseeded). */
  reset(): void;
  /** Everything ever created (canceled included), oldest first. */
  messages(connectionId?: string): SimMessage[];
  /** Every chat message ever sent (unsent included), oldest first. */
  chatMessages(connectionId?: string): SimChatMessageView[];
  /** "METHOD route status" → count; a dropped answer counts as status "dropped". /__sim is not counted. */
  requestCounts(): Record<string, number>;
  /**
   * Most /v2/access requests of one connection (or of all, without an id) that were being
   * handled at the same moment, from arrival to the end of the answer (429s and drops included).
   * Counted by events, not time, so tests can assert on overlap without timing anything.
   */
  maxInFlight(connectionId?: string): number;
  /** A message's recipients (fan ids) and its buyers by `at` (default now), oldest purchase first; null for an unknown id. */
  audienceOf(messageId: number, at?: number): { recipients: number[]; buyers: number[] } | null;
  /** A connection's lists with their members (null: synthetic), for assertions. */
  lists(connectionId: string): Array<{ id: number; name: string; size: number; members: number[] | null }>;
}

const ACCESS_PREFIX = '/v2/access/';
const INSPECT_PREFIX = '/__sim';
const NO_FAULT: FaultDecision = { latencyMs: 0, rateLimitStorm: false, serverErrorBeforeCommit: false, afterCommit: 'none' };

function headerValue(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** Builds (does not start) an OFAuth stand-in serving both path families over one in-memory store. */
export async function buildSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const clock = options.clock ?? systemClock;
  const apiKeys = new Set(options.apiKeys ?? ['sim_key_sandbox']);
  const store = new SimStore(options.connections ?? defaultConnections);
  const chats = new SimChatStore();
  const lifecycle: LifecycleConfig = {
    sendDurationMs: options.sendDurationMs ?? 60_000,
    unsendWindowMs: options.unsendWindowMs ?? 300_000,
    viewTimeConstantMs: options.viewTimeConstantMs,
  };
  const rateLimit = options.rateLimit ?? { capacity: 90, refillPerSecond: 1 };
  const limiter = rateLimit === false ? null : new SimRateLimiter(rateLimit, clock, options.rateLimitReset ?? 'seconds');
  const faults = new FaultInjector(options.faults ?? {});
  let errorFormat: ErrorFormat = options.errorFormat ?? 'A';
  const counts = new Map<string, number>();
  const inFlight = { all: 0, maxAll: 0, byConnection: new Map<string, { now: number; max: number }>() };
  const contexts = new WeakMap<FastifyRequest, SimContext>();
  let requestSeq = 0;

  const app = Fastify({ logger: options.logger ?? false, forceCloseConnections: true });

  const context = (request: FastifyRequest): SimContext => {
    let ctx = contexts.get(request);
    if (ctx === undefined) {
      ctx = { requestId: `req_sim${String(++requestSeq).padStart(6, '0')}`, connection: null, faults: NO_FAULT, counted: false };
      contexts.set(request, ctx);
    }
    return ctx;
  };
  const count = (request: FastifyRequest, status: string): void => {
    const ctx = context(request);
    if (ctx.counted || request.url.startsWith(INSPECT_PREFIX)) return;
    ctx.counted = true;
    const key = `${request.method} ${request.routeOptions.url ?? '(unmatched)'} ${status}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  /** Counts the request in flight until its response closes (answered, or its socket destroyed). */
  const trackInFlight = (connectionId: string, reply: FastifyReply): void => {
    let entry = inFlight.byConnection.get(connectionId);
    if (entry === undefined) inFlight.byConnection.set(connectionId, (entry = { now: 0, max: 0 }));
    const counted = entry;
    counted.max = Math.max(counted.max, ++counted.now);
    inFlight.maxAll = Math.max(inFlight.maxAll, ++inFlight.all);
    reply.raw.once('close', () => {
      counted.now--;
      inFlight.all--;
    });
  };
  const fail: SimDeps['fail'] = (request, reply, type, message, extras) =>
    sendError(reply, errorFormat, context(request).requestId, type, message, extras);

  const deps: SimDeps = {
    store,
    clock,
    lifecycle,
    quirks: options.quirks ?? {},
    errorFormat: () => errorFormat,
    context,
    fail,
    permit(request, reply, permission) {
      const permissions = context(request).connection?.permissions ?? null;
      if (permissions === null || permissions.has(permission)) return true;
      fail(request, reply, 'FORBIDDEN', `connection lacks the ${permission} permission`);
      return false;
    },
    answerCommitted(request, reply, payload) {
      const outcome = context(request).faults.afterCommit;
      if (outcome === 'error') return fail(request, reply, 'UNKNOWN_ERROR', 'internal error after the change was saved (injected)');
      if (outcome === 'drop') {
        count(request, 'dropped');
        reply.hijack();
        request.raw.socket.destroy();
        return reply;
      }
      return reply.code(200).send(payload);
    },
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const ctx = context(request);
    reply.header('x-request-id', ctx.requestId);
    if (!request.url.startsWith(ACCESS_PREFIX)) return;
    // Node lower-cases header names, so `apiKey` and `apikey` both arrive here.
    if (!apiKeys.has(headerValue(request.headers.apikey))) return fail(request, reply, 'UNAUTHORIZED', 'API key missing or invalid');
    const connection = store.connections.get(headerValue(request.headers['x-connection-id']));
    if (connection === undefined) return fail(request, reply, 'SESSION_NOT_PROVIDED', 'connection not found; link the account again');
    if (connection.status === 'expired') {
      return fail(request, reply, 'SESSION_EXPIRED', 'OnlyFans session expired', { actionRequired: 'refresh_session' });
    }
    ctx.connection = connection;
    trackInFlight(connection.id, reply);
    if (limiter !== null) {
      const taken = limiter.take(connection.id);
      reply.headers(taken.headers);
      if (!taken.allowed) {
        if (options.retryAfter === true) reply.header('retry-after', String(taken.retryAfterSeconds));
        return fail(request, reply, 'RATE_LIMIT_EXCEEDED', 'rate limit exceeded');
      }
    }
    ctx.faults = faults.decide();
    if (ctx.faults.latencyMs > 0) await delay(ctx.faults.latencyMs);
    if (ctx.faults.rateLimitStorm) {
      if (limiter !== null) reply.headers(limiter.peekHeaders(connection.id));
      if (options.retryAfter === true) reply.header('retry-after', '1');
      return fail(request, reply, 'RATE_LIMIT_EXCEEDED', 'rate limit exceeded (injected storm)');
    }
    if (ctx.faults.serverErrorBeforeCommit) return fail(request, reply, 'UNKNOWN_ERROR', 'internal error (injected, nothing saved)');
  });

  app.addHook('onResponse', async (request, reply) => count(request, String(reply.statusCode)));

  app.setNotFoundHandler((request, reply) => fail(request, reply, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return fail(request, reply, 'BAD_REQUEST', error.message);
    request.log.error({ err: error }, 'simulator error');
    return fail(request, reply, 'UNKNOWN_ERROR', 'internal error');
  });

  registerMessageRoutes(app, deps);
  registerListRoutes(app, deps);
  registerFollowUpRoutes(app, deps, options.buyersSeed ?? 1);
  registerChatListRoutes(app, deps);
  registerChatMessageRoutes(app, deps, chats);
  const simulator: Simulator = {
    app,
    store,
    clock,
    apiKey: [...apiKeys][0] ?? '',
    connectionId: store.connections.keys().next().value ?? '',
    setFaults: (next) => faults.set(next),
    setErrorFormat: (format) => {
      errorFormat = format;
    },
    reset() {
      store.reset();
      chats.reset();
      limiter?.reset();
      counts.clear();
      inFlight.maxAll = inFlight.all;
      for (const entry of inFlight.byConnection.values()) entry.max = entry.now;
      faults.set(options.faults ?? {});
    },
    messages: (connectionId) =>
      store
        .messagesOf(connectionId)
        .sort((a, b) => a.id - b.id)
        .map((message) => describeMessage(message, clock.now(), lifecycle)),
    chatMessages: (connectionId) => chats.list(connectionId),
    requestCounts: () => Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b))),
    audienceOf: (messageId, at = clock.now()) => {
      const message = store.messages.get(messageId);
      if (message === undefined) return null;
      const { purchasedCount } = takeSnapshot(message, at, lifecycle);
      return { recipients: recipientsOf(message.reach), buyers: buyersOf(message, purchasedCount, options.buyersSeed ?? 1) };
    },
    lists: (connectionId) =>
      [...(store.connections.get(connectionId)?.lists.values() ?? [])].map((l) => ({ id: l.id, name: l.name, size: l.size, members: l.members === null ? null : [...l.members].sort((a, b) => a - b) })),
    maxInFlight: (connectionId) => (connectionId === undefined ? inFlight.maxAll : (inFlight.byConnection.get(connectionId)?.max ?? 0)),
  };
  registerInspectRoutes(app, {
    ...simulator,
    faults: () => faults.options,
    chats: (connectionId) => {
      const connection = store.connections.get(connectionId);
      return connection === undefined ? null : [...connection.chats.values()].sort((a, b) => a.fanId - b.fanId);
    },
    putChats: (connectionId, chats) => {
      const connection = store.connections.get(connectionId);
      for (const chat of chats) connection?.chats.set(chat.fanId, toSimChat(chat));
      return connection !== undefined;
    },
  });
  await app.ready();
  return simulator;
}

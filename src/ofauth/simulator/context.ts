import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.ts';
import type { FaultDecision } from './faults.ts';
import type { LifecycleConfig } from './lifecycle.ts';
import type { SimQuirks } from './render.ts';
import type { ErrorExtras, ErrorFormat, SimErrorType } from './replies.ts';
import type { SimConnection, SimStore } from './store.ts';

/** Per-request state set by the access hook (auth, bucket, fault draw). */
export interface SimContext {
  requestId: string;
  connection: SimConnection | null;
  faults: FaultDecision;
  /** True once the request was counted (a dropped socket never reaches onResponse). */
  counted: boolean;
}

/** What route modules need from the simulator; wired explicitly by app.ts. */
export interface SimDeps {
  store: SimStore;
  clock: Clock;
  lifecycle: LifecycleConfig;
  quirks: SimQuirks;
  errorFormat: () => ErrorFormat;
  context(request: FastifyRequest): SimContext;
  fail(request: FastifyRequest, reply: FastifyReply, type: SimErrorType, message: string, extras?: ErrorExtras): FastifyReply;
  /**
   * Answers a mutating call whose change is already applied, honouring the after-commit
   * faults: a 500, or a socket destroyed with no answer at all.
   */
  answerCommitted(request: FastifyRequest, reply: FastifyReply, payload: unknown): FastifyReply;
  /** Answers 403 FORBIDDEN unless the connection has the permission; true when it may go on. */
  permit(request: FastifyRequest, reply: FastifyReply, permission: string): boolean;
}

/** The connection authenticated by the access hook; routes under /v2/access always have one. */
export function requireConnection(deps: SimDeps, request: FastifyRequest): SimConnection {
  const connection = deps.context(request).connection;
  if (connection === null) throw new Error('simulator route reached without an authenticated connection');
  return connection;
}

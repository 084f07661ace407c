import type { EndpointFamily } from '../endpoints.ts';
import type { MassMessageBody, StatsType } from '../schemas.ts';
import { takeSnapshot, classifyState, type LifecycleConfig, type SimState } from './lifecycle.ts';
import type { StoredMessage } from './store.ts';

/** Everything the simulator knows about one message, for assertions. Holds no credentials. */
export interface SimMessage {
  id: number;
  connectionId: string;
  createdVia: EndpointFamily;
  state: SimState;
  statsType: StatsType;
  /** The body as stored after validation (unknown fields dropped). */
  body: MassMessageBody;
  createdAt: string;
  updatedAt: string;
  scheduledAt: string;
  hasScheduledDate: boolean;
  audience: number;
  sentCount: number;
  viewedCount: number;
  purchasedCount: number;
  canUnsend: boolean;
  canceledAt: string | null;
  unsentAt: string | null;
  updates: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Inspection view of a stored message at `now`. */
export function describeMessage(message: StoredMessage, now: number, lifecycle: LifecycleConfig): SimMessage {
  const snap = takeSnapshot(message, now, lifecycle);
  return {
    id: message.id,
    connectionId: message.connectionId,
    createdVia: message.createdVia,
    state: snap.state,
    statsType: classifyState(snap.state),
    body: structuredClone(message.body),
    createdAt: iso(message.createdAt),
    updatedAt: iso(message.updatedAt),
    scheduledAt: iso(message.scheduledAt),
    hasScheduledDate: message.hasScheduledDate,
    audience: message.audience,
    sentCount: snap.sentCount,
    viewedCount: snap.viewedCount,
    purchasedCount: snap.purchasedCount,
    canUnsend: snap.canUnsend,
    canceledAt: message.canceledAt === null ? null : iso(message.canceledAt),
    unsentAt: message.unsentAt === null ? null : iso(message.unsentAt),
    updates: message.updates,
  };
}

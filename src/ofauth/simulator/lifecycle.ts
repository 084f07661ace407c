import type { StatsType } from '../schemas.ts';
import type { StoredMessage } from './store.ts';

/*
 * A message's state is a pure function of its stored times and "now": nothing runs on a timer,
 * so a ManualClock moved by a test moves every message with it.
 */

export type SimState = 'scheduled' | 'sending' | 'sent' | 'canceled' | 'unsent';

export interface LifecycleConfig {
  /** sending → sent. */
  sendDurationMs: number;
  /** After sent, DELETE unsends within this window. */
  unsendWindowMs: number;
  /** Views (and so purchases) approach their ceiling with this time constant; default 30 min. */
  viewTimeConstantMs?: number;
}

export interface Snapshot {
  state: SimState;
  sentCount: number;
  viewedCount: number;
  purchasedCount: number;
  canUnsend: boolean;
  unsendSeconds: number;
  /** When sending finished (or will), epoch ms. */
  sentAt: number;
}

/** Views approach their ceiling with this time constant after delivery starts, unless configured. */
const VIEW_TIME_CONSTANT_MS = 30 * 60_000;

/** Deterministic per-message fraction in [0, 1): the same id always grows the same way. */
function fractionFor(id: number, salt: number): number {
  let x = (id * 0x9e3779b1 + salt * 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

/** The message's state at `now`. */
export function computeState(message: StoredMessage, now: number, config: LifecycleConfig): SimState {
  if (message.canceledAt !== null) return 'canceled';
  if (message.unsentAt !== null) return 'unsent';
  if (now < message.scheduledAt) return 'scheduled';
  if (now < message.scheduledAt + config.sendDurationMs) return 'sending';
  return 'sent';
}

/** State plus counts at `now`. Counts freeze at cancel/unsend time. */
export function takeSnapshot(message: StoredMessage, now: number, config: LifecycleConfig): Snapshot {
  const state = computeState(message, now, config);
  const sentAt = message.scheduledAt + config.sendDurationMs;
  const frozenAt = Math.min(now, message.unsentAt ?? now, message.canceledAt ?? now);
  const elapsed = frozenAt - message.scheduledAt;
  let sentCount = 0;
  if (state !== 'scheduled' && elapsed >= 0) {
    const progress = config.sendDurationMs <= 0 ? 1 : Math.min(1, elapsed / config.sendDurationMs);
    sentCount = Math.floor(message.audience * progress);
  }
  const viewCeiling = 0.3 + 0.4 * fractionFor(message.id, 1);
  const viewedCount = elapsed > 0 ? Math.floor(sentCount * viewCeiling * (1 - Math.exp(-elapsed / (config.viewTimeConstantMs ?? VIEW_TIME_CONSTANT_MS)))) : 0;
  const isPaid = (message.body.price ?? 0) > 0;
  const buyRate = 0.05 + 0.15 * fractionFor(message.id, 2);
  const purchasedCount = isPaid ? Math.floor(viewedCount * buyRate) : 0;
  const canUnsend = state === 'sent' && now < sentAt + config.unsendWindowMs;
  const unsendSeconds = canUnsend ? Math.ceil((sentAt + config.unsendWindowMs - now) / 1000) : 0;
  return { state, sentCount, viewedCount, purchasedCount, canUnsend, unsendSeconds, sentAt };
}

/**
 * Which stats list shows a state. `unsent` holds what was never (fully) delivered: in progress
 * and canceled before sending. A message unsent after delivery stays under `sent`, flagged
 * isCanceled.
 */
export function classifyState(state: SimState): StatsType {
  switch (state) {
    case 'scheduled':
      return 'scheduled';
    case 'sending':
    case 'canceled':
      return 'unsent';
    case 'sent':
    case 'unsent':
      return 'sent';
  }
}

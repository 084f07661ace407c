import type { Connection, ConnectionSummary, PollState } from './types.ts';

/*
 * What both stores' connection and run tables follow, whatever the dialect.
 */

/** How many runs of each kind are kept for /v1/sync/status; older ones are pruned. */
export const RUNS_KEPT = 500;
/** connections.last_success_at is kept to this precision; it is not rewritten more often. */
export const SUCCESS_STAMP_MS = 10_000;

/** The domain connection of a row of either dialect's connections table. */
export const toConnection = (row: Connection): Connection => ({
  id: row.id,
  pausedAt: row.pausedAt,
  pauseReason: row.pauseReason,
  lastProbeAt: row.lastProbeAt,
  lastSuccessAt: row.lastSuccessAt,
  untrackedCount: row.untrackedCount,
  statsPolledAt: row.statsPolledAt,
});

/** A success on a connection that is not paused and was stamped lately changes nothing. */
export const isSuccessAlreadyRecorded = (known: Pick<Connection, 'pausedAt' | 'lastSuccessAt'> | undefined, now: number): boolean =>
  known !== undefined && known.pausedAt === null && known.lastSuccessAt !== null && now - known.lastSuccessAt < SUCCESS_STAMP_MS;

interface PollStateRow {
  carry: Record<string, unknown> | null;
  budgetMilliTokens: number;
  budgetUpdatedAt: number;
}

/** The poller's state from a row of either dialect (the budget is kept in thousandths, as an integer). */
export const toPollState = (row: PollStateRow): PollState => ({
  carry: row.carry,
  budgetTokens: row.budgetMilliTokens / 1000,
  budgetUpdatedAt: row.budgetUpdatedAt,
});

export const fromPollState = (state: PollState): PollStateRow => ({
  carry: state.carry,
  // Floored: a rounding never grants a request the budget did not have.
  budgetMilliTokens: Math.floor(state.budgetTokens * 1000),
  budgetUpdatedAt: state.budgetUpdatedAt,
});

/** Statuses GET /v1/connections counts as queued: not yet gone out. */
export const QUEUED_SEND_STATUSES = ['pending', 'queued'] as const;

/**
 * Joins what each dialect reads for GET /v1/connections: the health rows, and per-connection
 * counts of campaigns and queued sends. A connection only a campaign names has no health row:
 * it has never been paused, probed or polled.
 */
export function summarizeConnections(
  rows: Connection[],
  campaignCounts: Array<{ connectionId: string; count: number }>,
  queuedCounts: Array<{ connectionId: string; count: number }>,
): ConnectionSummary[] {
  const byId = new Map<string, ConnectionSummary>();
  const blank = (id: string): ConnectionSummary => ({ id, pausedAt: null, pauseReason: null, lastProbeAt: null, lastSuccessAt: null, untrackedCount: 0, statsPolledAt: null, campaigns: 0, sendsQueued: 0 });
  for (const row of rows) byId.set(row.id, { ...toConnection(row), campaigns: 0, sendsQueued: 0 });
  for (const { connectionId, count } of campaignCounts) {
    const summary = byId.get(connectionId) ?? blank(connectionId);
    byId.set(connectionId, { ...summary, campaigns: Number(count) });
  }
  for (const { connectionId, count } of queuedCounts) {
    const summary = byId.get(connectionId) ?? blank(connectionId);
    byId.set(connectionId, { ...summary, sendsQueued: Number(count) });
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

import type { Connection } from './types.ts';

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

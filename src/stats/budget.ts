import { createTask } from 'node-cron';
import type { Clock } from '../clock.ts';

export interface BudgetSettings {
  /** Share of a connection's rate budget the poller may use (STATS_BUDGET, 0–1]. */
  budget: number;
  /** The OFAuth client's bucket shape (OFAUTH_RATE_CAPACITY, OFAUTH_RATE_PER_MINUTE / 60). */
  rateCapacity: number;
  refillPerSecond: number;
  /** Time between two scheduled polls (from STATS_CRON). */
  cycleMs: number;
}

/**
 * The poller's share of each connection's rate budget, as a token bucket of its own: it refills
 * at budget × the client's refill and holds at most one cycle's worth (budget × refill × cycle,
 * at least one request), so a poll never spends more than that and a skipped cycle is not
 * spent twice over later. Fractions carry over (1.5 per cycle alternates 1 and 2).
 */
export function createStatsBudget(settings: BudgetSettings, clock: Clock) {
  const perSecond = settings.budget * settings.refillPerSecond;
  const perCycle = Math.max(1, (perSecond * settings.cycleMs) / 1000);
  const ledgers = new Map<string, { tokens: number; updatedAt: number }>();

  function ledger(connectionId: string) {
    const now = clock.now();
    let entry = ledgers.get(connectionId);
    if (!entry) {
      entry = { tokens: perCycle, updatedAt: now };
      ledgers.set(connectionId, entry);
    }
    entry.tokens = Math.min(perCycle, entry.tokens + (Math.max(0, now - entry.updatedAt) / 1000) * perSecond);
    entry.updatedAt = now;
    return entry;
  }

  return {
    perCycle,
    /**
     * Takes the connection's bucket as saved (by this or another instance): the database holds
     * the truth, since one instance at a time polls a connection.
     */
    restore(connectionId: string, saved: { budgetTokens: number; budgetUpdatedAt: number }): void {
      ledgers.set(connectionId, { tokens: Math.min(perCycle, saved.budgetTokens), updatedAt: Math.min(saved.budgetUpdatedAt, clock.now()) });
    },
    /** The connection's bucket now, to save. */
    snapshot(connectionId: string): { budgetTokens: number; budgetUpdatedAt: number } {
      const entry = ledger(connectionId);
      return { budgetTokens: entry.tokens, budgetUpdatedAt: entry.updatedAt };
    },
    /** Requests this connection may still make now. */
    remaining(connectionId: string): number {
      return Math.floor(ledger(connectionId).tokens + 1e-9);
    },
    spend(connectionId: string): void {
      ledger(connectionId).tokens -= 1;
    },
    /**
     * Sync goes first: while it has work due on the connection, the poller sends nothing once
     * the client's bucket is below (1 − budget) × capacity.
     */
    mustYieldToSync(available: number): boolean {
      return available < (1 - settings.budget) * settings.rateCapacity;
    },
  };
}

export type StatsBudget = ReturnType<typeof createStatsBudget>;

/**
 * The shortest gap between the next few runs of a cron expression, for the per-cycle budget.
 * node-cron registers every task it creates, so the probe task is destroyed straight away.
 */
export async function cronIntervalMs(expression: string): Promise<number> {
  const task = createTask(expression, () => {}, { name: `stats-interval-probe-${Math.random().toString(36).slice(2)}` });
  try {
    const runs = task.getNextRuns(6).map((d) => d.getTime());
    const gaps = runs.slice(1).map((t, i) => t - runs[i]!).filter((gap) => gap > 0);
    return gaps.length === 0 ? 60_000 : Math.min(...gaps);
  } finally {
    await task.destroy();
  }
}

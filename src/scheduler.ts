import { createTask, type ScheduledTask } from 'node-cron';
import type { Clock } from './clock.ts';

export interface LoopLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SchedulerOptions<T extends object> {
  name: string;
  cron: string;
  clock: Clock;
  /** One run of the loop; `signal` asks it to stop taking new work. */
  run: (signal: AbortSignal) => Promise<T>;
  logger: LoopLogger;
  /** Idle runs (nothing done) are logged at debug level only, so a quiet service stays quiet. */
  isIdle?: (summary: T) => boolean;
  /** Persists each run (for status pages); a failure to record is logged, never thrown. */
  record?: (run: { startedAt: number; durationMs: number; summary: T | null; error: string | null }) => void | Promise<void>;
}

/** After consecutive failed runs, skip ticks for 2^n seconds, at most this long. */
const MAX_FAILURE_BACKOFF_MS = 5 * 60_000;

/**
 * A node-cron shell around a loop function: no overlapping runs, errors never escape the timer
 * (logged, recorded, then ticks are skipped with exponential back-off), and stop() waits for the
 * run in flight so the caller can close the database safely afterwards.
 */
export function createScheduler<T extends object>(options: SchedulerOptions<T>) {
  const { clock, logger } = options;
  let task: ScheduledTask | null = null;
  let inFlight: Promise<void> | null = null;
  let failures = 0;
  let skipUntil = 0;
  let lastRunAt: number | null = null;
  const stopping = new AbortController();

  async function record(run: { startedAt: number; durationMs: number; summary: T | null; error: string | null }): Promise<void> {
    try {
      await options.record?.(run);
    } catch (error) {
      logger.error({ loop: options.name, err: error }, `${options.name} run could not be recorded`);
    }
  }

  async function runGuarded(): Promise<void> {
    const startedAt = clock.now();
    const started = performance.now();
    lastRunAt = startedAt;
    try {
      const summary = await options.run(stopping.signal);
      const durationMs = Math.round(performance.now() - started);
      failures = 0;
      // One summary line per run.
      const isIdle = options.isIdle?.(summary) ?? false;
      (isIdle ? logger.debug : logger.info).call(logger, { loop: options.name, durationMs, ...summary }, `${options.name} run`);
      await record({ startedAt, durationMs, summary, error: null });
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      failures++;
      skipUntil = clock.now() + Math.min(MAX_FAILURE_BACKOFF_MS, 1000 * 2 ** failures);
      logger.error({ loop: options.name, err: error, durationMs, failures }, `${options.name} run failed; backing off`);
      await record({ startedAt, durationMs, summary: null, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Runs the loop now unless a run is in flight (then waits for that one) or it is backing off. */
  function trigger(): Promise<void> {
    if (inFlight) return inFlight;
    if (stopping.signal.aborted || clock.now() < skipUntil) return Promise.resolve();
    inFlight = runGuarded().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  return {
    trigger,
    /** Starts the timer; a no-op once stopped, so a late start during shutdown cannot revive it. */
    start(): void {
      if (task || stopping.signal.aborted) return;
      // node-cron warns on every skipped overlapping tick; a long run is normal here, so its own
      // chatter goes to debug instead of straight to the console.
      const cronLogger = {
        info: (message: string) => logger.debug({ loop: options.name }, message),
        warn: (message: string) => logger.debug({ loop: options.name }, message),
        error: (message: string | Error) => logger.error({ loop: options.name, err: message }, 'node-cron error'),
        debug: (message: string | Error) => logger.debug({ loop: options.name }, String(message)),
      };
      task = createTask(options.cron, () => trigger(), { name: options.name, noOverlap: true, logger: cronLogger });
      void task.start();
    },
    /** Stops the timer, asks the run in flight to stop claiming, and waits for it. */
    async stop(): Promise<void> {
      if (task) await task.destroy();
      task = null;
      stopping.abort();
      await inFlight;
    },
    status() {
      return { isRunning: inFlight !== null, lastRunAt, consecutiveFailures: failures, backingOffUntil: skipUntil > clock.now() ? skipUntil : null };
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;

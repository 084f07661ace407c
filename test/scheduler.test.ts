import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { createScheduler } from '../src/scheduler.ts';

const silentLogger = { debug: () => {}, info: () => {}, error: vi.fn() };

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('scheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs the loop on its cron and never overlaps a run still in flight', async () => {
    vi.useFakeTimers({ now: Date.UTC(2030, 0, 1) });
    const gate = deferred();
    let runs = 0;
    const scheduler = createScheduler({
      name: 'test',
      cron: '* * * * * *',
      clock: new ManualClock(),
      logger: silentLogger,
      run: async () => {
        runs++;
        await gate.promise;
        return { claimed: 1 };
      },
    });
    scheduler.start();

    await vi.advanceTimersByTimeAsync(5_500);
    expect(runs).toBe(1);
    expect(scheduler.status().isRunning).toBe(true);

    gate.resolve();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(runs).toBeGreaterThanOrEqual(3);
    await scheduler.stop();
  });

  it('stop() waits for the run in flight and tells it to stop claiming', async () => {
    const gate = deferred();
    let signalSeen: AbortSignal | null = null;
    let finished = false;
    const scheduler = createScheduler({
      name: 'test',
      cron: '0 0 1 1 *',
      clock: new ManualClock(),
      logger: silentLogger,
      run: async (signal) => {
        signalSeen = signal;
        await gate.promise;
        finished = true;
        return {};
      },
    });
    const running = scheduler.trigger();
    const stopped = scheduler.stop();
    expect(signalSeen!.aborted).toBe(true);
    expect(finished).toBe(false);
    gate.resolve();
    await stopped;
    await running;
    expect(finished).toBe(true);
  });

  it('catches a failed run, records it, and backs off before the next', async () => {
    const clock = new ManualClock();
    const records: Array<{ error: string | null }> = [];
    let runs = 0;
    const scheduler = createScheduler({
      name: 'test',
      cron: '0 0 1 1 *',
      clock,
      logger: silentLogger,
      record: (run) => {
        records.push(run);
      },
      run: async () => {
        runs++;
        throw new Error('database is locked');
      },
    });

    await scheduler.trigger();
    await scheduler.trigger();
    expect(runs).toBe(1);
    expect(records).toEqual([expect.objectContaining({ error: 'database is locked', summary: null })]);
    expect(scheduler.status().consecutiveFailures).toBe(1);

    clock.advance(2_000);
    await scheduler.trigger();
    expect(runs).toBe(2);
    await scheduler.stop();
  });
});

import { setTimeout as delay } from 'node:timers/promises';
import type { Rng } from './random.ts';
import type { ServerProcess } from './server-process.ts';

export interface KillLoopOptions {
  minKills: number;
  /** How long each server lives before its SIGKILL, uniform in [min, max] ms. */
  uptimeMs: [number, number];
  /** Keep killing until this is true too (the API workload has finished). */
  isWorkDone: () => boolean;
  signal: AbortSignal;
}

/**
 * Starts the server, lets it live a seeded random while, SIGKILLs it, and again: at least
 * `minKills` times and until the workload is done. Leaves the last server dead. Returns the kills.
 */
export async function killRepeatedly(server: ServerProcess, rng: Rng, options: KillLoopOptions): Promise<number> {
  let kills = 0;
  while (!options.signal.aborted && (kills < options.minKills || !options.isWorkDone())) {
    await server.start();
    // The kill moment is the experiment, not a wait for something: a timer is what we want here.
    await delay(rng.int(...options.uptimeMs), undefined, { signal: options.signal }).catch(() => undefined);
    await server.kill();
    kills++;
  }
  return kills;
}

import { ManualClock } from '../../src/clock.ts';
import { createOfauthClient, type OfauthClient, type OfauthClientOptions } from '../../src/ofauth/client.ts';
import { mulberry32 } from '../../src/ofauth/simulator/faults.ts';
import type { StartedSimulator } from '../helpers/simulator.ts';

/**
 * Time that moves only when the code under test sleeps: the client's sleep advances the same
 * ManualClock the simulator reads, so backoff and bucket waits are exact and instant.
 */
export function manualTime(start?: number) {
  const clock = new ManualClock(start);
  const sleeps: number[] = [];
  const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    signal?.throwIfAborted();
    sleeps.push(ms);
    clock.advance(ms);
  };
  return { clock, sleep, sleeps };
}

/** A client for the simulator with seeded jitter; `close()` it in teardown. */
export function clientFor(sim: StartedSimulator, options: Partial<OfauthClientOptions> = {}): OfauthClient {
  return createOfauthClient({ baseUrl: sim.url, apiKey: sim.apiKey, random: mulberry32(7), ...options });
}

/** Collects pino-style log calls so tests can check that no line leaks the API key. */
export function captureLogs() {
  const lines: string[] = [];
  const logger = {
    debug: (obj: object, msg?: string) => lines.push(JSON.stringify({ ...obj, msg })),
    warn: (obj: object, msg?: string) => lines.push(JSON.stringify({ ...obj, msg })),
  };
  return { logger, lines };
}

/** A valid scheduled body for the default sandbox connection. */
export function scheduledBody(clock: { now(): number }, inMs = 3_600_000, extra: Record<string, unknown> = {}) {
  return { text: 'Hello **fans**', userLists: [1], excludeUserLists: [4], scheduledDate: new Date(clock.now() + inMs).toISOString(), ...extra };
}

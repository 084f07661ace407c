import { once, type EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { AnswerHold } from './api-proxy.ts';
import type { Rng } from './random.ts';
import type { ServerProcess } from './server-process.ts';

/**
 * Where a kill lands. A purely random moment mostly hits an idle process (calls take
 * milliseconds), so most kills are aimed: at the next create the simulator receives (a mass
 * message the process may never hear about), at the next OFAuth update or delete, at the next
 * API write as it is sent, or at the server's answer to one, withheld from the caller.
 */
export type KillMoment = 'timer' | 'ofauth-create' | 'ofauth-write' | 'api-write' | 'api-create-answer' | 'api-write-answer';

/**
 * Emits 'ofauth-create', 'ofauth-write' (update, delete) and 'api-write' as those requests start,
 * and 'api-answer' when the ApiProxy withheld an answer.
 */
export type Activity = EventEmitter;

export interface KillLoopOptions {
  minKills: number;
  /** How long a server lives before a timer kill, uniform in [min, max] ms; an aimed kill is armed within [0, min]. */
  uptimeMs: [number, number];
  activity: Activity;
  /** Arms (or, null, disarms) the ApiProxy's withholding of the next create's or write's answer. */
  armAnswerHold: (hold: AnswerHold | null) => void;
  /** Keep killing until this is true too (the API workload has finished). */
  isWorkDone: () => boolean;
  signal: AbortSignal;
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** An aimed kill gives up waiting for its event after this long and fires anyway. */
const AIM_TIMEOUT_MS = 2_000;

async function nextActivity(activity: Activity, event: string, signal: AbortSignal): Promise<boolean> {
  // A plain timer, not AbortSignal.any([..., AbortSignal.timeout()]): on Node 20 that timeout
  // signal is only weakly held and can be collected before it fires, which hung a run for good.
  const gaveUp = new AbortController();
  const timer = setTimeout(() => gaveUp.abort(), AIM_TIMEOUT_MS);
  const onTeardown = () => gaveUp.abort();
  signal.addEventListener('abort', onTeardown, { once: true });
  try {
    await once(activity, event, { signal: gaveUp.signal });
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onTeardown);
  }
}

/**
 * Starts the server, lets it live a seeded random while, SIGKILLs it (at once or at the next
 * write in flight), and again: at least `minKills` times and until the workload is done. Leaves
 * the last server dead. Returns how many kills landed where.
 */
export async function killRepeatedly(server: ServerProcess, rng: Rng, options: KillLoopOptions): Promise<Record<KillMoment, number>> {
  const kills: Record<KillMoment, number> = { timer: 0, 'ofauth-create': 0, 'ofauth-write': 0, 'api-write': 0, 'api-create-answer': 0, 'api-write-answer': 0 };
  const total = () => Object.values(kills).reduce((a, b) => a + b, 0);
  // Cycled in a seeded order, so even a short run aims at every kind of moment.
  const moments = shuffle(rng, ['timer', 'ofauth-create', 'ofauth-create', 'ofauth-write', 'api-write', 'api-create-answer', 'api-write-answer'] satisfies KillMoment[]);
  while (!options.signal.aborted && (total() < options.minKills || !options.isWorkDone())) {
    await server.start();
    let moment: KillMoment = moments[total() % moments.length]!;
    // The kill moment is the experiment, not a wait for something: timers are what we want here.
    // An aimed kill is armed early in the life, while the restart's backlog of work is under way.
    const [min, max] = options.uptimeMs;
    await delay(moment === 'timer' ? rng.int(min, max) : rng.int(0, min), undefined, { signal: options.signal }).catch(() => undefined);
    if (moment !== 'timer') {
      const hold = moment === 'api-create-answer' ? 'create' : moment === 'api-write-answer' ? 'write' : null;
      options.armAnswerHold(hold);
      const isAimed = await nextActivity(options.activity, hold ? 'api-answer' : moment, options.signal);
      options.armAnswerHold(null);
      // A few ms in for OFAuth writes: sometimes before the simulator applies them (0–50 ms of
      // latency), sometimes after, before the answer is recorded. API writes take ~1 ms.
      if (isAimed && moment.startsWith('ofauth')) await delay(rng.int(0, 60));
      if (!isAimed) moment = 'timer';
    }
    await server.kill();
    kills[moment]++;
  }
  return kills;
}

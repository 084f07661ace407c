/**
 * Seeded fault injection. Every request to /v2/access draws the same number of values from one
 * PRNG, so a seed replays the same faults for the same sequence of requests.
 */
export interface FaultOptions {
  seed?: number;
  /** Answer 500 without changing anything (any /v2/access request). */
  serverErrorBeforeCommit?: number;
  /** Apply a create/update/delete, then answer 500. */
  serverErrorAfterCommit?: number;
  /** Apply a create/update/delete, then destroy the socket without answering. */
  dropAfterCommit?: number;
  /** Extra latency before handling, uniform in [min, max] ms (real time). */
  latencyMs?: [number, number];
  /** Answer 429 with this probability whatever the bucket says. */
  rateLimitStorm?: number;
}

export interface FaultDecision {
  latencyMs: number;
  rateLimitStorm: boolean;
  serverErrorBeforeCommit: boolean;
  afterCommit: 'none' | 'error' | 'drop';
}

const NO_FAULT: FaultDecision = Object.freeze({ latencyMs: 0, rateLimitStorm: false, serverErrorBeforeCommit: false, afterCommit: 'none' });

/** mulberry32: tiny, fast, good enough for test fault schedules (not for anything secret). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function rate(value: number | undefined, name: string): number {
  const r = value ?? 0;
  if (!(r >= 0 && r <= 1)) throw new Error(`fault rate ${name} must be within 0..1, got ${String(value)}`);
  return r;
}

/** Holds the current fault plan and its PRNG; replaced at runtime by setFaults / POST /__sim/faults. */
export class FaultInjector {
  #options: FaultOptions = {};
  #random: () => number = mulberry32(1);
  #active = false;

  constructor(options: FaultOptions = {}) {
    this.set(options);
  }

  /** Replaces the fault plan and reseeds (seed defaults to 1). */
  set(options: FaultOptions): void {
    rate(options.serverErrorBeforeCommit, 'serverErrorBeforeCommit');
    rate(options.serverErrorAfterCommit, 'serverErrorAfterCommit');
    rate(options.dropAfterCommit, 'dropAfterCommit');
    rate(options.rateLimitStorm, 'rateLimitStorm');
    if ((options.serverErrorAfterCommit ?? 0) + (options.dropAfterCommit ?? 0) > 1) {
      throw new Error('serverErrorAfterCommit + dropAfterCommit must not exceed 1');
    }
    const [min, max] = options.latencyMs ?? [0, 0];
    if (!(min >= 0 && max >= min)) throw new Error('latencyMs must be [min, max] with 0 <= min <= max');
    this.#options = { ...options };
    this.#random = mulberry32(options.seed ?? 1);
    this.#active =
      max > 0 ||
      [options.serverErrorBeforeCommit, options.serverErrorAfterCommit, options.dropAfterCommit, options.rateLimitStorm].some(
        (r) => (r ?? 0) > 0,
      );
  }

  get options(): FaultOptions {
    return { ...this.#options };
  }

  /** The faults for the next request; always four draws so one fault never shifts the others. */
  decide(): FaultDecision {
    if (!this.#active) return NO_FAULT;
    const o = this.#options;
    const [min, max] = o.latencyMs ?? [0, 0];
    const latencyDraw = this.#random();
    const stormDraw = this.#random();
    const beforeDraw = this.#random();
    const afterDraw = this.#random();
    const errorAfter = o.serverErrorAfterCommit ?? 0;
    const dropAfter = o.dropAfterCommit ?? 0;
    return {
      latencyMs: Math.round(min + latencyDraw * (max - min)),
      rateLimitStorm: stormDraw < (o.rateLimitStorm ?? 0),
      serverErrorBeforeCommit: beforeDraw < (o.serverErrorBeforeCommit ?? 0),
      afterCommit: afterDraw < errorAfter ? 'error' : afterDraw < errorAfter + dropAfter ? 'drop' : 'none',
    };
  }
}

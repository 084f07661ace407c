import { mulberry32 } from '../../../src/ofauth/simulator/faults.ts';

/** A seeded source of test decisions; one seed replays the same plan (not the same interleaving). */
export interface Rng {
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)]!;
    },
  };
}

/** CRASH_SEED when given (decimal or 0x hex), otherwise a fresh random 32-bit seed. */
export function seedFrom(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return Math.floor(Math.random() * 2 ** 32) >>> 0;
  const seed = Number(value.trim());
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`CRASH_SEED must be an integer in [0, 2^32), got ${value}`);
  return seed;
}

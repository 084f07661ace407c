import { z } from 'zod';
import { statsTypeSchema, type StatsType } from '../ofauth/schemas.ts';
import type { Coverage } from './plan.ts';

/**
 * A poll cut short by the budget, resumed by the next one as the same logical poll: lists move
 * forward only (scheduled → unsent → sent), so what it saw and how far it read stay true, and a
 * send can still be proven missing however small the budget per cycle. Saved in the database
 * (stats_poll_state), so whichever instance polls the connection next resumes it.
 */
export interface Carry {
  type: StatsType;
  offset: number;
  fromTop: boolean;
  lowestKey: number;
  /** Sorted send ids already met. */
  seenIds: string[];
  coverage: Partial<Record<StatsType, Coverage>>;
}

// JSON has no infinities, and the bounds of a list not yet read below anything are ±Infinity.
const boundSchema = z.union([z.number(), z.enum(['Infinity', '-Infinity'])]).transform((v) => (typeof v === 'number' ? v : Number(v)));
const encodeBound = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

const coverageSchema = z.object({ fromTop: z.boolean(), below: boundSchema });
const carrySchema = z.object({
  type: statsTypeSchema,
  offset: z.number().int().nonnegative(),
  fromTop: z.boolean(),
  lowestKey: boundSchema,
  seenIds: z.array(z.string()),
  coverage: z.partialRecord(statsTypeSchema, coverageSchema),
});

/** The carry as JSON for the database. */
export function encodeCarry(carry: Carry): Record<string, unknown> {
  const coverage = Object.fromEntries(Object.entries(carry.coverage).map(([type, c]) => [type, { fromTop: c.fromTop, below: encodeBound(c.below) }]));
  return { ...carry, lowestKey: encodeBound(carry.lowestKey), coverage };
}

/**
 * The carry a saved state holds; null when there is none or it cannot be read (a newer or
 * damaged shape): the poll then starts from the top, which is always safe, only slower.
 */
export function decodeCarry(saved: Record<string, unknown> | null | undefined): Carry | null {
  if (!saved) return null;
  const parsed = carrySchema.safeParse(saved);
  return parsed.success ? (parsed.data as Carry) : null;
}

import { describe, expect, it } from 'vitest';
import { toIsoUtc } from '../src/iso-time.ts';

describe('toIsoUtc', () => {
  const expectAsDate = (ms: number) => expect(toIsoUtc(ms), String(ms)).toBe(new Date(ms).toISOString());

  it('writes what toISOString writes at the edges of days, months, leap years, centuries and its range', () => {
    const instants = [
      0, 1, 999, 1000, 59_999, 3_599_999, 86_399_999, 86_400_000,
      Date.UTC(1972, 1, 29), Date.UTC(1972, 1, 29, 23, 59, 59, 999), Date.UTC(1972, 2, 1),
      Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2000, 1, 29, 12), Date.UTC(2000, 2, 1), Date.UTC(2030, 0, 1, 18, 0, 0, 5),
      Date.UTC(2100, 1, 28, 23, 59, 59, 999), Date.UTC(2100, 2, 1), Date.UTC(2400, 1, 29), Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    for (const ms of instants) expectAsDate(ms);
  });

  it('writes what toISOString writes for every day from 1970 to 2200 and for random instants to 9999', () => {
    for (let ms = 0; ms < Date.UTC(2200, 0, 1); ms += 86_400_000 + 1_234) expectAsDate(ms);
    let seed = 20300101;
    const random = () => ((seed = (seed * 16_807) % 2_147_483_647) / 2_147_483_647);
    for (let i = 0; i < 100_000; i++) expectAsDate(Math.floor(random() * 253_402_300_800_000));
  });

  it('leaves to toISOString what falls outside whole milliseconds of 1970–9999, errors included', () => {
    for (const ms of [-1, -86_400_001, Date.UTC(10_000, 0, 1), 1.5, 8.64e15]) expectAsDate(ms);
    expect(() => toIsoUtc(Number.NaN)).toThrow(RangeError);
    expect(() => toIsoUtc(8.64e15 + 1)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { Column, PackedStrings, encode } from '../../src/stats/columns.ts';

describe('tracked columns', () => {
  it('keep numbers across chunks', () => {
    const column = new Column((n) => new Float64Array(n));
    const values = Array.from({ length: 10_000 }, (_, i) => (i % 7 === 0 ? Number.NaN : i * 1.5 - 3));
    values.forEach((v, i) => column.set(i, v));
    expect(values.map((_, i) => column.get(i))).toEqual(values);
  });

  it('give back the strings pushed, null and empty apart, entries never split across chunks', () => {
    // 3,000 ids of 30 bytes cross 16 KiB chunk boundaries mid-entry; the long one fills most of a chunk.
    const values = [null, '', 'snd_01J0', 'é', '漢字', '😀', ...Array.from({ length: 3_000 }, (_, i) => `snd_${String(i).padStart(26, '0')}`), 'x'.repeat(16_000), '', 'after'];
    const packed = new PackedStrings();
    for (const value of values) packed.push(value);
    expect(packed.length).toBe(values.length);
    expect(values.map((_, i) => packed.get(i))).toEqual(values);
    expect(() => packed.push('y'.repeat(20_000))).toThrow(/at most 16384 bytes/);
  });

  it('order strings as UTF-8 bytes, the order SQLite gives ORDER BY id', () => {
    const values = ['b', 'a', 'ab', '', 'é', '\uffff', '😀', 'z'];
    const packed = new PackedStrings();
    for (const value of values) packed.push(value);
    const byBytes = [...values].sort((x, y) => Buffer.compare(encode(x), encode(y)));
    expect(values.map((_, i) => i).sort((i, j) => packed.compare(i, j)).map((i) => values[i])).toEqual(byBytes);
    // '😀' (a surrogate pair in UTF-16) sorts after U+FFFF as bytes, before it as JS strings.
    expect(byBytes.slice(-2)).toEqual(['\uffff', '😀']);
    expect(values.map((_, i) => Math.sign(packed.compareTo(i, encode('b'))))).toEqual(values.map((v) => Math.sign(Buffer.compare(encode(v), encode('b')))));
  });
});

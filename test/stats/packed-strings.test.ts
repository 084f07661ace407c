import { describe, expect, it } from 'vitest';
import { PackedStrings, encode } from '../../src/stats/packed-strings.ts';

describe('packed strings', () => {
  it('gives back what was pushed, null and empty apart, across growth and trim', () => {
    const values = [null, '', 'snd_01J0', 'é', '漢字', '😀', ...Array.from({ length: 3_000 }, (_, i) => `snd_${String(i).padStart(26, '0')}`)];
    const packed = new PackedStrings();
    for (const value of values) packed.push(value);
    packed.trim();
    expect(packed.length).toBe(values.length);
    expect(values.map((_, i) => packed.get(i))).toEqual(values);
  });

  it('orders entries as UTF-8 bytes, the order SQLite gives ORDER BY id', () => {
    const values = ['b', 'a', 'ab', '', 'é', '\uffff', '😀', 'z'];
    const packed = new PackedStrings();
    for (const value of values) packed.push(value);
    const byBytes = [...values].sort((x, y) => Buffer.compare(encode(x), encode(y)));
    const order = values.map((_, i) => i).sort((i, j) => packed.compare(i, j));
    expect(order.map((i) => values[i])).toEqual(byBytes);
    // '😀' (a surrogate pair in UTF-16) sorts after U+FFFF as bytes, before it as JS strings.
    expect(byBytes.slice(-2)).toEqual(['\uffff', '😀']);
    expect(values.map((v, i) => Math.sign(packed.compareTo(i, encode('b'))))).toEqual(values.map((v) => Math.sign(Buffer.compare(encode(v), encode('b')))));
  });
});

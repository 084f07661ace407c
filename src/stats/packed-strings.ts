/*
 * A growing list of strings kept as UTF-8 bytes in one buffer plus an end offset per entry: a
 * 30-character send id costs 34 bytes here, outside the JS heap, against ~56 as a string in an
 * array, and the strings a store page hands over die young instead of being promoted. Entries
 * compare as bytes, which is SQLite's BINARY order (what ORDER BY id returns).
 */
export class PackedStrings {
  #bytes = Buffer.allocUnsafe(0);
  #ends = new Uint32Array(0);
  #length = 0;
  /** Entries that are null rather than a string (none expected: kept apart so '' stays ''). */
  #nulls = new Set<number>();

  get length(): number {
    return this.#length;
  }

  #start(i: number): number {
    return i === 0 ? 0 : this.#ends[i - 1]!;
  }

  push(value: string | null): void {
    const i = this.#length;
    let end = this.#start(i);
    if (i === this.#ends.length) this.#ends = grown(this.#ends, i + 1);
    if (value === null) {
      this.#nulls.add(i);
    } else {
      // At most 3 bytes per UTF-16 unit.
      if (end + value.length * 3 > this.#bytes.length) this.#bytes = grown(this.#bytes, end + value.length * 3);
      end += this.#bytes.write(value, end, 'utf8');
    }
    this.#ends[i] = end;
    this.#length++;
  }

  get(i: number): string | null {
    if (this.#nulls.has(i)) return null;
    return this.#bytes.toString('utf8', this.#start(i), this.#ends[i]!);
  }

  /** Sign of entry i against `value` (UTF-8 bytes, e.g. from encode): <0, 0 or >0. */
  compareTo(i: number, value: Buffer): number {
    return this.#bytes.compare(value, 0, value.length, this.#start(i), this.#ends[i]!);
  }

  /** Sign of entry i against entry j, as bytes. */
  compare(i: number, j: number): number {
    return this.#bytes.compare(this.#bytes, this.#start(j), this.#ends[j]!, this.#start(i), this.#ends[i]!);
  }

  /** Gives back the room growing left unused, once no more entries come. */
  trim(): void {
    const used = this.#start(this.#length);
    if (this.#bytes.length > used) this.#bytes = Buffer.from(this.#bytes.subarray(0, used));
    if (this.#ends.length > this.#length) this.#ends = this.#ends.slice(0, this.#length);
  }
}

/** A string as the bytes PackedStrings compares. */
export const encode = (value: string): Buffer => Buffer.from(value, 'utf8');

/** A copy at least `needed` long, doubling so that appends cost amortised O(1). */
function grown<T extends Buffer | Uint32Array>(array: T, needed: number): T {
  const length = Math.max(needed, array.length * 2, 1024);
  const next = (array instanceof Buffer ? Buffer.allocUnsafe(length) : new Uint32Array(length)) as T;
  next.set(array);
  return next;
}

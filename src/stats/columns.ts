/*
 * Append-only columns for the stats poller's tracked sends, stored in fixed-size chunks that are
 * allocated as rows arrive and never copied: a million rows cost what they hold (plus one partly
 * filled chunk), where a doubling array would briefly hold up to three times that and leave the
 * discarded copies to the allocator. Everything lives outside the JS heap.
 */

/**
 * Entries per numeric chunk (1024: 8 KB of Float64): small, so a connection with a handful of
 * tracked sends costs kilobytes and sixteen polled at once leave little to the allocator.
 */
const SHIFT = 10;
const SIZE = 1 << SHIFT;
const MASK = SIZE - 1;

type Typed = Float64Array | Uint32Array | Uint8Array | Int8Array;

/** A numeric column, set in index order (reading an index past the last chunk throws). */
export class Column {
  readonly #chunks: Typed[] = [];
  readonly #make: (length: number) => Typed;

  constructor(make: (length: number) => Typed) {
    this.#make = make;
  }

  get(i: number): number {
    return this.#chunks[i >>> SHIFT]![i & MASK]!;
  }

  set(i: number, value: number): void {
    const chunk = i >>> SHIFT;
    while (this.#chunks.length <= chunk) this.#chunks.push(this.#make(SIZE));
    this.#chunks[chunk]![i & MASK] = value;
  }
}

/** Bytes per string chunk; no entry may be longer. */
const BYTES = 1 << 14;
const EMPTY = Buffer.alloc(0);

/**
 * A list of strings kept as UTF-8 bytes: a 30-character send id costs 34 bytes here against ~56
 * as a string in an array, and the strings a store page hands over die young instead of being
 * promoted. Entries compare as bytes, which is SQLite's BINARY order (what ORDER BY id returns).
 * An entry never spans two chunks, so each one is located from its end offset alone.
 */
export class PackedStrings {
  readonly #chunks: Buffer[] = [];
  /** Offset just past each entry, counting every chunk as BYTES long. */
  readonly #ends = new Column((n) => new Uint32Array(n));
  #used = 0;
  #length = 0;
  /** Entries that are null rather than a string (none expected: kept apart so '' stays ''). */
  readonly #nulls = new Set<number>();
  // Where the last located entry lies (set by #locate; avoids allocating a span per compare).
  #chunk: Buffer = EMPTY;
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#length;
  }

  push(value: string | null): void {
    const size = value === null ? 0 : Buffer.byteLength(value, 'utf8');
    if (size > BYTES) throw new Error(`PackedStrings holds strings of at most ${BYTES} bytes, not ${size}`);
    let start = this.#used;
    // Skip the rest of a chunk the entry does not fit in.
    if ((start % BYTES) + size > BYTES) start = (Math.floor(start / BYTES) + 1) * BYTES;
    if (start + size > 0xffff_ffff) throw new Error('PackedStrings holds at most 4 GiB');
    if (size > 0) {
      const chunk = Math.floor(start / BYTES);
      while (this.#chunks.length <= chunk) this.#chunks.push(Buffer.allocUnsafeSlow(BYTES));
      this.#chunks[chunk]!.write(value!, start % BYTES, 'utf8');
    }
    if (value === null) this.#nulls.add(this.#length);
    this.#used = start + size;
    this.#ends.set(this.#length++, this.#used);
  }

  #locate(i: number): void {
    const end = this.#ends.get(i);
    const previous = i === 0 ? 0 : this.#ends.get(i - 1);
    if (previous === end) {
      this.#chunk = EMPTY;
      this.#start = 0;
      this.#end = 0;
      return;
    }
    const chunk = Math.floor((end - 1) / BYTES);
    const base = chunk * BYTES;
    this.#chunk = this.#chunks[chunk]!;
    this.#start = Math.max(previous, base) - base;
    this.#end = end - base;
  }

  get(i: number): string | null {
    if (this.#nulls.has(i)) return null;
    this.#locate(i);
    return this.#chunk.toString('utf8', this.#start, this.#end);
  }

  /** Sign of entry i against `value` (UTF-8 bytes, see encode): <0, 0 or >0. */
  compareTo(i: number, value: Buffer): number {
    this.#locate(i);
    return this.#chunk.compare(value, 0, value.length, this.#start, this.#end);
  }

  /** Sign of entry i against entry j, as bytes. */
  compare(i: number, j: number): number {
    this.#locate(j);
    const chunk = this.#chunk;
    const start = this.#start;
    const end = this.#end;
    this.#locate(i);
    return this.#chunk.compare(chunk, start, end, this.#start, this.#end);
  }
}

/** A string as the bytes PackedStrings compares. */
export const encode = (value: string): Buffer => Buffer.from(value, 'utf8');

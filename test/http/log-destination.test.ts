import { mkdtempSync, openSync, readFileSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batchedDestination } from '../../src/http/log-destination.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('batched log destination', () => {
  let dir: string;
  let fd: number;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-log-'));
    path = join(dir, 'out.log');
    fd = openSync(path, 'w');
  });
  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the lines of one turn together at its end, in order, and the next turn after it', async () => {
    const destination = batchedDestination(fd);
    destination.write('{"n":1}\n');
    destination.write('{"n":2}\n');
    expect(readFileSync(path, 'utf8')).toBe('');
    await nextTurn();
    expect(readFileSync(path, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
    destination.write('{"n":3}\n');
    await nextTurn();
    expect(readFileSync(path, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
  });

  it('writes what is pending on flushSync, as process exit does, and nothing twice', async () => {
    const destination = batchedDestination(fd);
    destination.write('é 🔥\n');
    destination.flushSync();
    expect(readFileSync(path, 'utf8')).toBe('é 🔥\n');
    await nextTurn();
    expect(readFileSync(path, 'utf8')).toBe('é 🔥\n');
  });
});

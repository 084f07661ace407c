import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { sqliteWriterOf } from '../../src/store/sqlite/durability.ts';

/*
 * The SQLite sync writer on a real file (the contract suite runs on :memory:, which has no WAL):
 * bookkeeping and durable writes commit, the connection's synchronous level is what it was
 * after each, and a durable write resolves only after its WAL sync, shared by writers waiting
 * together. A power loss cannot be staged here; the crash test SIGKILLs a server on a file.
 */
const FULL = 2;

describe('SQLite sync writes on a file database', () => {
  let dir: string;
  let db: Db;
  const level = () => db.$client.pragma('synchronous', { simple: true });
  const rows = () => db.$client.prepare('SELECT n FROM probe ORDER BY n').pluck().all();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-durability-'));
    db = openDatabase(join(dir, 'fanout.db'));
    db.$client.exec('CREATE TABLE probe (n INTEGER)');
  });
  afterEach(() => {
    sqliteWriterOf(db).close();
    closeDatabase(db);
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits bookkeeping and durable writes, keeping the connection at synchronous=FULL for the API', async () => {
    const writer = sqliteWriterOf(db);
    const insert = db.$client.prepare('INSERT INTO probe (n) VALUES (?)');
    expect(writer.writeNow(() => insert.run(1).changes)).toBe(1);
    expect(level()).toBe(FULL);
    await expect(writer.write('durable', () => insert.run(2).changes)).resolves.toBe(1);
    expect(level()).toBe(FULL);
    await writer.write('bookkeeping', () => insert.run(3));
    expect(rows()).toEqual([1, 2, 3]);

    // Seen by another connection (another process) once the promise resolves.
    const other = openDatabase(join(dir, 'fanout.db'));
    expect(other.$client.prepare('SELECT count(*) FROM probe').pluck().get()).toBe(3);
    closeDatabase(other);
  });

  it('resolves every durable write of a burst, in one or a few shared syncs, and rolls back a write that throws', async () => {
    const writer = sqliteWriterOf(db);
    const insert = db.$client.prepare('INSERT INTO probe (n) VALUES (?)');
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => writer.write('durable', () => insert.run(10 + i).changes)));
    expect(burst).toEqual(Array.from({ length: 20 }, () => 1));
    await expect(
      writer.write('durable', () => {
        insert.run(99);
        throw new Error('decide failed');
      }),
    ).rejects.toThrow('decide failed');
    expect(rows()).toEqual(Array.from({ length: 20 }, (_, i) => 10 + i));
    expect(level()).toBe(FULL);
  });

  it('leaves a connection the operator set to a lower level alone', async () => {
    db.$client.pragma('synchronous = OFF');
    await sqliteWriterOf(db).write('durable', () => db.$client.prepare('INSERT INTO probe (n) VALUES (1)').run());
    expect(level()).toBe(0);
  });
});

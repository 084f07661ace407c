import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Db } from '../../db/sqlite/client.ts';
import { cachedStatement } from './statements.ts';

/*
 * How durable a sync write must be before its promise resolves.
 *
 * The connection runs synchronous=FULL (src/db/sqlite/client.ts): in WAL mode every commit is
 * an fsync of the WAL, on the event loop, 1–5 ms on a busy disk, which alone capped bench:sync at
 * a fifth of what the rate limits allow. The sync's writes fall in two kinds:
 *
 * - Bookkeeping (claims, leases, outcomes, backoff): commit under synchronous=NORMAL, no fsync.
 *   A process crash loses nothing (the WAL is in the OS's cache); a power loss may lose the last
 *   few, which is safe because each is recovered from what stays: an outcome lost leaves its
 *   create intent, so the next owner searches OFAuth and adopts the copy; a lost update or
 *   delete outcome repeats a PUT of the same revision or a DELETE that answers 404; a lost lease
 *   only expires. WAL frames are appended in order, so what a power loss takes is always a
 *   suffix: never a write from before a durable one.
 *
 * - Durable (the create intent): it must survive power loss before the POST leaves, because it
 *   is the only trace that a mass message may exist. It also commits under NORMAL, then waits
 *   for an fdatasync of the WAL run on libuv's thread pool, off the event loop. That is the same
 *   sync synchronous=FULL does at commit ("the WAL file is synchronized after each transaction
 *   commit", sqlite.org/pragma.html#pragma_synchronous), covering this commit and every frame
 *   before it; concurrent waiters share one fdatasync. A checkpoint that moves frames into the
 *   database first syncs the WAL and then the database, so a commit checkpointed meanwhile is
 *   durable too.
 *
 * Marketer writes (API) keep the connection's FULL.
 */

const SYNCHRONOUS_NORMAL = 1;

export type Durability = 'bookkeeping' | 'durable';

export interface SqliteWriter {
  /** Runs `fn` in one IMMEDIATE transaction; for 'durable', resolves once it is on disk. */
  write<T>(durability: Durability, fn: () => T): Promise<T>;
  /** Runs `fn` as one IMMEDIATE transaction under NORMAL, synchronously (bookkeeping only). */
  writeNow<T>(fn: () => T): T;
  close(): void;
}

const writers = new WeakMap<Db['$client'], SqliteWriter>();

/** The connection's one writer (one WAL handle and one sync counter per connection). */
export function sqliteWriterOf(db: Db): SqliteWriter {
  let writer = writers.get(db.$client);
  if (!writer) writers.set(db.$client, (writer = createSqliteWriter(db)));
  return writer;
}

function createSqliteWriter(db: Db): SqliteWriter {
  const client = db.$client;
  // Nothing to sync for a private in-memory database (tests): durable is a plain commit.
  const walPath = client.memory ? null : `${client.name}-wal`;
  let walFd: number | null = null;
  let committed = 0;
  let synced = 0;
  let syncing: Promise<void> | null = null;

  const underNormal = <T>(fn: () => T): T => {
    // synchronous cannot change inside a transaction: a caller already in one keeps its level.
    if (client.inTransaction) return fn();
    // The connection's own level is restored after; one already at NORMAL or OFF is left alone.
    const level = cachedStatement(db, 'PRAGMA synchronous').pluck().get() as number;
    if (level <= SYNCHRONOUS_NORMAL) return db.transaction(fn, { behavior: 'immediate' });
    cachedStatement(db, 'PRAGMA synchronous = NORMAL').run();
    try {
      return db.transaction(fn, { behavior: 'immediate' });
    } finally {
      cachedStatement(db, `PRAGMA synchronous = ${level}`).run();
    }
  };

  const syncWal = (upTo: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      // Opened on first use: SQLite creates the WAL with the first write.
      walFd ??= openSync(walPath!, 'r');
      fdatasync(walFd, (error) => (error ? reject(error) : resolve()));
    }).then(() => {
      synced = Math.max(synced, upTo);
    });

  /** Waits until a sync that started after commit number `mine` has finished. */
  async function durableUpTo(mine: number): Promise<void> {
    while (synced < mine) {
      if (syncing === null) {
        syncing = syncWal(committed).finally(() => {
          syncing = null;
        });
      }
      await syncing;
    }
  }

  return {
    async write(durability, fn) {
      const result = underNormal(fn);
      if (durability === 'durable' && walPath !== null) await durableUpTo(++committed);
      return result;
    },
    writeNow: underNormal,
    close() {
      if (walFd !== null) closeSync(walFd);
      walFd = null;
    },
  };
}

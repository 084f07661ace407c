/*
 * The instances part of the store seam (src/store/types.ts re-exports it): several Fanout
 * processes on one database and the connection leases they share out.
 */

export interface InstanceRecord {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
}

export interface LiveInstance extends InstanceRecord {
  /** Connections whose lease it holds, unexpired. */
  connectionsHeld: number;
}

/**
 * Fanout processes on one database and the connection leases they share out: one instance at a
 * time works a connection's sync lane and stats poll, so its rate-limit bucket lives in one
 * process. Leases are rows keyed by connection; a claim never takes one another live owner holds.
 */
export interface InstanceStore {
  /** Inserts or refreshes the instance's row with heartbeatAt = now. */
  heartbeat(instance: Omit<InstanceRecord, 'heartbeatAt'>, now: number): Promise<void>;
  /** Instances whose heartbeat is at or after `since`, oldest start first, each with its unexpired leases at `now` counted. */
  live(since: number, now: number): Promise<LiveInstance[]>;
  /** Makes connections known to the lease table (free when new; known ones are left as they are). */
  addConnections(connectionIds: string[]): Promise<void>;
  /** How many connections the lease table knows: what the fair share divides. */
  connectionCount(): Promise<number>;
  /**
   * Extends every lease `owner` holds to expire at `expiresAt` (an expired one too, as long as
   * nobody took it meanwhile); returns those connection ids, sorted.
   */
  renew(owner: string, expiresAt: number): Promise<string[]>;
  /**
   * Leases up to `limit` connections that are free or whose lease expired by `now` to `owner`,
   * lowest id first. Two claims at once never take the same connection. Each comes with the
   * owner it last had (null: never leased), so a takeover can assume that owner spent its
   * rate-limit bucket.
   */
  acquire(input: { owner: string; now: number; expiresAt: number; limit: number }): Promise<Array<{ connectionId: string; previousOwner: string | null }>>;
  /** Frees these of `owner`'s leases (all of them when omitted); another owner's are untouched. */
  release(owner: string, connectionIds?: string[]): Promise<void>;
  /** Removes the instance's row and frees its leases (a clean shutdown). */
  remove(id: string): Promise<void>;
  /** Deletes instance rows whose last heartbeat is before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

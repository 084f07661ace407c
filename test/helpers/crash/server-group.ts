import { setTimeout as delay } from 'node:timers/promises';
import type { ServerLike } from './api.ts';
import type { Rng } from './random.ts';
import type { ServerProcess } from './server-process.ts';

/**
 * Several server processes on one database behind one face, as a load balancer shows them: each
 * request goes to a live member picked at random. `generation` moves with every kill, so a
 * request cut by one waits for the group (another member) rather than counting as a stray error.
 */
export class ServerGroup implements ServerLike {
  #generation = 1;
  #waiters: Array<{ minGeneration: number; resolve: (generation: number) => void; reject: (error: Error) => void }> = [];
  #closedWith: Error | null = null;

  constructor(
    readonly members: ServerProcess[],
    private readonly rng: Rng,
  ) {}

  get generation(): number {
    return this.#generation;
  }

  get isUp(): boolean {
    return this.members.some((m) => m.isUp);
  }

  get baseUrl(): string {
    const up = this.members.filter((m) => m.isUp);
    return (up.length === 0 ? this.rng.pick(this.members) : this.rng.pick(up)).baseUrl;
  }

  get unexpectedExits(): string[] {
    return this.members.flatMap((m, i) => m.unexpectedExits.map((e) => `member ${i}: ${e}`));
  }

  async startAll(): Promise<void> {
    await Promise.all(this.members.map((m) => m.start()));
    this.#notify();
  }

  /** SIGKILLs one live member and starts it again; resolves once it is up. */
  async killAndRestart(index: number): Promise<void> {
    const member = this.members[index]!;
    await member.kill();
    this.#generation++;
    this.#notify();
    await member.start();
    this.#notify();
  }

  ready(minGeneration = 0): Promise<number> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (this.isUp && this.#generation >= minGeneration) return Promise.resolve(this.#generation);
    return new Promise((resolve, reject) => this.#waiters.push({ minGeneration, resolve, reject }));
  }

  async close(): Promise<void> {
    this.#closedWith = new Error('server group closed');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closedWith);
    await Promise.all(this.members.map((m) => m.close()));
  }

  #notify(): void {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (this.isUp && this.#generation >= waiter.minGeneration) waiter.resolve(this.#generation);
      else this.#waiters.push(waiter);
    }
  }
}

/**
 * SIGKILLs a random member after a random uptime and restarts it, again and again: at least
 * `minKills` times and until the workload is done. Returns kills per member.
 */
export async function killAcrossGroup(
  group: ServerGroup,
  rng: Rng,
  options: { minKills: number; uptimeMs: [number, number]; isWorkDone: () => boolean; signal: AbortSignal },
): Promise<number[]> {
  const kills = group.members.map(() => 0);
  const total = () => kills.reduce((a, b) => a + b, 0);
  while (!options.signal.aborted && (total() < options.minKills || !options.isWorkDone())) {
    // The kill moment is the experiment, not a wait for something.
    await delay(rng.int(options.uptimeMs[0], options.uptimeMs[1]), undefined, { signal: options.signal }).catch(() => undefined);
    if (options.signal.aborted) break;
    const index = rng.int(0, group.members.length - 1);
    kills[index]!++;
    await group.killAndRestart(index);
  }
  return kills;
}

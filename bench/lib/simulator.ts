import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { buildSimulator, type Simulator, type SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import type { ThreadReply, ThreadRequest, ThreadSetup, ThreadStarted } from './simulator-thread.ts';

export type BenchSimulator = Simulator & { url: string; close(): Promise<void> };

/** Starts the OFAuth simulator in this thread on an ephemeral loopback port. */
export async function startBenchSimulator(options: SimulatorOptions): Promise<BenchSimulator> {
  const simulator = await buildSimulator(options);
  await simulator.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = simulator.app.server.address() as AddressInfo;
  return { ...simulator, url: `http://127.0.0.1:${port}`, close: () => simulator.app.close() };
}

export interface SimulatorThread {
  url: string;
  apiKey: string;
  /** Id of the first message `setup.queued` seeded (null when none). */
  firstId: number | null;
  requestCounts(): Promise<Record<string, number>>;
  messageCount(): Promise<number>;
  /** Connection id → most requests the simulator was handling at once on it. */
  maxInFlight(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/**
 * Starts the simulator in a worker thread, so OFAuth's side neither spends the event loop it is
 * measuring nor stalls while that loop is busy: requests reach the simulator's bucket when they
 * are sent, as they would reach OFAuth. Options must be cloneable (no clock: it runs on real time).
 * `setup` seeds queued messages in the thread and can index them per connection (ThreadSetup).
 */
export async function startSimulatorThread(options: Omit<SimulatorOptions, 'clock'>, setup: ThreadSetup = {}): Promise<SimulatorThread> {
  // Worker threads do not inherit tsx's loader, so the thread registers it before importing the entry.
  const entry = new URL('./simulator-thread.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(code, { eval: true, workerData: { options, setup } });
  const started = await new Promise<ThreadStarted>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  worker.on('message', (reply: ThreadReply) => {
    pending.get(reply.id)?.resolve(reply.value);
    pending.delete(reply.id);
  });
  // A thread that dies must fail the benchmark, not leave it awaiting an answer that never comes.
  const failAll = (error: Error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`simulator thread exited (code ${code})`)));
  const ask = (kind: ThreadRequest['kind']) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, kind } satisfies ThreadRequest);
    });
  return {
    ...started,
    requestCounts: async () => (await ask('requestCounts')) as Record<string, number>,
    messageCount: async () => (await ask('messageCount')) as number,
    maxInFlight: async () => (await ask('maxInFlight')) as Record<string, number>,
    async close() {
      await ask('close');
      await worker.terminate();
    },
  };
}

export interface RequestTally {
  total: number;
  rateLimited: number;
  /** "METHOD route status" → count, as the simulator reports it. */
  byKey: Record<string, number>;
}

/** Sums the simulator's request counts; 429s are the ones whose status field is 429. */
export function tallyRequests(counts: Record<string, number>): RequestTally {
  let total = 0;
  let rateLimited = 0;
  for (const [key, n] of Object.entries(counts)) {
    total += n;
    if (key.endsWith(' 429')) rateLimited += n;
  }
  return { total, rateLimited, byKey: counts };
}

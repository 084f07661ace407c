import type { AddressInfo } from 'node:net';
import { buildSimulator, type Simulator, type SimulatorOptions } from '../../src/ofauth/simulator/app.ts';

export type BenchSimulator = Simulator & { url: string; close(): Promise<void> };

/** Starts the OFAuth simulator on an ephemeral loopback port, as production talks to OFAuth: over real HTTP. */
export async function startBenchSimulator(options: SimulatorOptions): Promise<BenchSimulator> {
  const simulator = await buildSimulator(options);
  await simulator.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = simulator.app.server.address() as AddressInfo;
  return { ...simulator, url: `http://127.0.0.1:${port}`, close: () => simulator.app.close() };
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

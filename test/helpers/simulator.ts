import type { AddressInfo } from 'node:net';
import { buildSimulator, type Simulator, type SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { createOfauthClient, type OfauthClient, type OfauthClientOptions } from '../../src/ofauth/client.ts';

export type StartedSimulator = Simulator & { url: string; apiKey: string; connectionId: string; close(): Promise<void> };

/**
 * Starts the OFAuth simulator on 127.0.0.1 with an ephemeral port. Close it in teardown
 * (`afterEach(() => sim.close())`); each test gets its own store, buckets and fault PRNG.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<StartedSimulator> {
  const simulator = await buildSimulator(options);
  await simulator.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = simulator.app.server.address() as AddressInfo;
  return {
    ...simulator,
    url: `http://127.0.0.1:${port}`,
    close: () => simulator.app.close(),
  };
}

/**
 * A client for this simulator that never waits on its own limits: a wide bucket and one quick
 * attempt, so a test counts calls and outcomes, not time. Override any option.
 */
export function fastClientFor(sim: Pick<StartedSimulator, 'url' | 'apiKey'>, options: Partial<OfauthClientOptions> = {}): OfauthClient {
  return createOfauthClient({
    baseUrl: sim.url,
    apiKey: sim.apiKey,
    timeoutMs: 5_000,
    rateLimit: { capacity: 1_000, refillPerSecond: 1_000 },
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 5, maxTotalMs: 1_000 },
    ...options,
  });
}

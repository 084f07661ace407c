import type { AddressInfo } from 'node:net';
import { buildSimulator, type Simulator, type SimulatorOptions } from '../../src/ofauth/simulator/app.ts';

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

/**
 * Worker-thread entry for startSimulatorThread(): builds the simulator from workerData, listens
 * on an ephemeral loopback port and answers the parent's inspection requests.
 */
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { buildSimulator, type SimulatorOptions } from '../../src/ofauth/simulator/app.ts';

export type ThreadRequest = { id: number; kind: 'requestCounts' | 'messageCount' | 'close' };
export type ThreadReply = { id: number; value: unknown };

const port = parentPort;
if (port === null) throw new Error('simulator-thread.ts must run in a worker thread');
const simulator = await buildSimulator(workerData as SimulatorOptions);
await simulator.app.listen({ host: '127.0.0.1', port: 0 });
const { port: listening } = simulator.app.server.address() as AddressInfo;
port.postMessage({ url: `http://127.0.0.1:${listening}`, apiKey: simulator.apiKey });

port.on('message', (request: ThreadRequest) => {
  void (async () => {
    let value: unknown = null;
    if (request.kind === 'requestCounts') value = simulator.requestCounts();
    if (request.kind === 'messageCount') value = simulator.messages().length;
    if (request.kind === 'close') await simulator.app.close();
    port.postMessage({ id: request.id, value } satisfies ThreadReply);
    // Answered first: once the port closes the thread ends and nothing more can be sent.
    if (request.kind === 'close') port.close();
  })();
});

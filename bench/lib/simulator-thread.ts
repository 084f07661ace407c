/**
 * Worker-thread entry for startSimulatorThread(): builds the simulator from workerData, seeds it
 * if asked, listens on an ephemeral loopback port and answers the parent's inspection requests.
 */
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { buildSimulator, type Simulator, type SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import type { StoredMessage } from '../../src/ofauth/simulator/store.ts';

export type ThreadRequest = { id: number; kind: 'requestCounts' | 'messageCount' | 'maxInFlight' | 'close' };
export type ThreadReply = { id: number; value: unknown };

/**
 * Mass messages already in OFAuth's queue when the thread starts, as columns (typed arrays clone
 * cheaply, a million objects do not). Message ids are consecutive in array order, from the
 * `firstId` the thread reports back.
 */
export interface QueuedSeed {
  connectionIds: string[];
  /** Per message, an index into connectionIds. */
  connection: Uint16Array;
  createdAt: Float64Array;
  scheduledAt: Float64Array;
  listId: number;
}

export interface ThreadSetup {
  queued?: QueuedSeed;
  /**
   * The simulator lists a connection's messages by copying and filtering every message it holds,
   * which is fine for tests and slow with a million: keep them per connection instead, so the
   * stand-in's cost per page does not swamp the process being measured on a two-core machine.
   */
  indexByConnection?: boolean;
}

export interface ThreadStarted {
  url: string;
  apiKey: string;
  /** Id of the first seeded message (null when nothing was seeded). */
  firstId: number | null;
}

function seedQueued(simulator: Simulator, seed: QueuedSeed): number | null {
  let firstId: number | null = null;
  for (let i = 0; i < seed.connection.length; i++) {
    const id = simulator.store.nextMessageId();
    firstId ??= id;
    const createdAt = seed.createdAt[i]!;
    const message: StoredMessage = {
      id,
      connectionId: seed.connectionIds[seed.connection[i]!]!,
      createdVia: 'queue',
      body: { text: `Message ${id}`, price: 0, mediaItems: [], userLists: [seed.listId] },
      createdAt,
      updatedAt: createdAt,
      scheduledAt: seed.scheduledAt[i]!,
      hasScheduledDate: true,
      audience: 1_000,
      canceledAt: null,
      unsentAt: null,
      updates: 0,
    };
    simulator.store.messages.set(id, message);
  }
  return firstId;
}

/** Replaces the store's messagesOf with a per-connection index, rebuilt when messages come or go. */
function indexByConnection(simulator: Simulator): void {
  const { store } = simulator;
  const all = store.messagesOf.bind(store);
  let indexedSize = -1;
  let byConnection = new Map<string, StoredMessage[]>();
  store.messagesOf = (connectionId?: string) => {
    if (connectionId === undefined) return all();
    if (store.messages.size !== indexedSize) {
      byConnection = new Map();
      for (const message of store.messages.values()) {
        let list = byConnection.get(message.connectionId);
        if (list === undefined) byConnection.set(message.connectionId, (list = []));
        list.push(message);
      }
      indexedSize = store.messages.size;
    }
    // A copy, as the original returns: callers sort it in place.
    return [...(byConnection.get(connectionId) ?? [])];
  };
}

const port = parentPort;
if (port === null) throw new Error('simulator-thread.ts must run in a worker thread');
const { options, setup } = workerData as { options: SimulatorOptions; setup: ThreadSetup };
const simulator = await buildSimulator(options);
const firstId = setup.queued ? seedQueued(simulator, setup.queued) : null;
if (setup.indexByConnection) indexByConnection(simulator);
await simulator.app.listen({ host: '127.0.0.1', port: 0 });
const { port: listening } = simulator.app.server.address() as AddressInfo;
port.postMessage({ url: `http://127.0.0.1:${listening}`, apiKey: simulator.apiKey, firstId } satisfies ThreadStarted);

port.on('message', (request: ThreadRequest) => {
  void (async () => {
    let value: unknown = null;
    if (request.kind === 'requestCounts') value = simulator.requestCounts();
    if (request.kind === 'messageCount') value = simulator.messages().length;
    if (request.kind === 'maxInFlight') value = Object.fromEntries([...simulator.store.connections.keys()].map((id) => [id, simulator.maxInFlight(id)]));
    if (request.kind === 'close') await simulator.app.close();
    port.postMessage({ id: request.id, value } satisfies ThreadReply);
    // Answered first: once the port closes the thread ends and nothing more can be sent.
    if (request.kind === 'close') port.close();
  })();
});

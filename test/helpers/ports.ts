import { once } from 'node:events';
import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1, for a server a test starts in another process. */
export async function findFreePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not read the probe port');
  return address.port;
}

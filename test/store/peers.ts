import { afterEach, beforeEach } from 'vitest';
import type { Store } from '../../src/store/types.ts';
import type { StoreBackend } from './contract-suite.ts';

export interface PeerStores {
  mine: Store;
  theirs: Store;
}

/**
 * Two stores on one database, as two processes hold it, opened before each test of the
 * enclosing describe and closed after it (call inside a describe.runIf(backend.openPeers)).
 */
export function usePeerStores(backend: StoreBackend): PeerStores {
  const peers = {} as PeerStores;
  let dispose = async () => {};
  beforeEach(async () => {
    const opened = await backend.openPeers!();
    [peers.mine, peers.theirs] = opened.stores;
    dispose = opened.dispose;
  });
  afterEach(() => dispose());
  return peers;
}

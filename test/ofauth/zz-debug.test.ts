import { test } from 'vitest';
import { startSimulator } from '../helpers/simulator.ts';
import { clientFor } from './support.ts';
import { SimRateLimiter } from '../../src/ofauth/simulator/rate-limit.ts';

test('debug', async () => {
  const bucket = { capacity: 20, refillPerSecond: 200 };
  const slog: string[] = [];
  const orig = SimRateLimiter.prototype.take;
  let s = 0;
  SimRateLimiter.prototype.take = function (id: string) {
    const r = orig.call(this, id);
    if (id === 'conn_burst') slog.push(`S ${(performance.now() - s).toFixed(2)} ${r.allowed} ${r.headers['x-ratelimit-remaining']}`);
    return r;
  };
  const sim = await startSimulator({ rateLimit: bucket, connections: [{ id: 'conn_burst', lists: [{ id: 1, name: 'All', size: 10 }] }, { id: 'conn_warm' }] });
  const log: string[] = [];
  const client = clientFor(sim, { rateLimit: bucket, onRequest: (i) => i.connectionId === 'conn_burst' && log.push(`C ${(performance.now() - s).toFixed(2)} ${i.status} ${i.durationMs}`) });
  await Promise.all(Array.from({ length: bucket.capacity }, () => client.listUserLists('conn_warm')));
  s = performance.now();
  await Promise.all(Array.from({ length: 200 }, () => client.listUserLists('conn_burst')));
  console.log(performance.now() - s);
  const bad = slog.findIndex((l) => l.includes('false')); if (bad >= 0) console.log(slog.slice(0, bad + 5).join('\n') + '\n' + log.slice(0, 60).join('\n'));
  await client.close(); await sim.close();
});

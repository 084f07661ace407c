import { createServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import type { OfauthClientOptions } from '../../src/ofauth/client.ts';
import { isOfauthError, type OfauthError } from '../../src/ofauth/errors.ts';
import type { SimulatorOptions } from '../../src/ofauth/simulator/app.ts';
import { startSimulator, type StartedSimulator } from '../helpers/simulator.ts';
import { captureLogs, clientFor, manualTime, scheduledBody } from './support.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const retry = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 60_000 };

async function setup(simOptions: SimulatorOptions = {}, clientOptions: Partial<OfauthClientOptions> = {}) {
  const t = manualTime();
  const sim = await startSimulator({ clock: t.clock, ...simOptions });
  const logs = captureLogs();
  const client = clientFor(sim, { clock: t.clock, sleep: t.sleep, retry, logger: logs.logger, ...clientOptions });
  cleanups.push(() => sim.close(), () => client.close());
  return { t, sim, client, logs };
}

async function failure(promise: Promise<unknown>): Promise<OfauthError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  if (!isOfauthError(error)) throw error;
  return error;
}

const body = { text: 'hi', userIds: [1, 2] };
const posts = (sim: StartedSimulator, status: string) => sim.requestCounts()[`POST /v2/access/messages/queue ${status}`] ?? 0;

describe('auth', () => {
  test('unknown API key: 401 UNAUTHORIZED, not retried', async () => {
    const { sim, client } = await setup({}, { apiKey: 'wrong_key' });
    const error = await failure(client.listUserLists(sim.connectionId));
    expect(error).toMatchObject({ kind: 'auth', status: 401, code: 'UNAUTHORIZED', attempts: 1, operation: 'listUserLists' });
    expect(error.requestId).toMatch(/^req_/);
  });

  test('unknown connection: SESSION_NOT_PROVIDED; expired: SESSION_EXPIRED with actionRequired', async () => {
    const { client } = await setup({ connections: [{ id: 'conn_ok' }, { id: 'conn_old', status: 'expired' }] });
    expect(await failure(client.getMassMessage('conn_nope', 1))).toMatchObject({ kind: 'auth', status: 401, code: 'SESSION_NOT_PROVIDED' });
    expect(await failure(client.getMassMessage('conn_old', 1))).toMatchObject({
      kind: 'auth',
      status: 401,
      code: 'SESSION_EXPIRED',
      actionRequired: 'refresh_session',
    });
  });

  test('missing permission: 403 FORBIDDEN', async () => {
    const { client } = await setup({ connections: [{ id: 'conn_ro', permissions: ['messages:read', 'lists:read'] }] });
    expect(await failure(client.createMassMessage('conn_ro', body))).toMatchObject({ kind: 'auth', status: 403, code: 'FORBIDDEN' });
  });
});

describe('invalid', () => {
  test("the contract's validation answers 400 BAD_REQUEST; not retried", async () => {
    const { sim, client } = await setup();
    expect(await failure(client.createMassMessage(sim.connectionId, { text: 'no audience' }))).toMatchObject({ kind: 'invalid', status: 400, code: 'BAD_REQUEST', attempts: 1 });
    expect(await failure(client.createMassMessage(sim.connectionId, { text: 'x', userLists: [42] }))).toMatchObject({ kind: 'invalid', status: 400 });
    expect(posts(sim, '400')).toBe(2);
  });

  test('a body outside the documented ranges is refused before any request', async () => {
    const { sim, client } = await setup();
    const error = await failure(client.createMassMessage(sim.connectionId, { ...body, price: 250 }));
    expect(error).toMatchObject({ kind: 'invalid', status: null, code: 'CLIENT_VALIDATION' });
    expect(sim.requestCounts()).toEqual({});
  });

  test('404 for an unknown id, 400 for editing a message that is sending', async () => {
    const { t, sim, client } = await setup();
    expect(await failure(client.getMassMessage(sim.connectionId, 999))).toMatchObject({ kind: 'invalid', status: 404, code: 'RESOURCE_NOT_FOUND' });
    const created = await client.createMassMessage(sim.connectionId, scheduledBody(t.clock, 1000));
    t.clock.advance(2000);
    expect(await failure(client.updateMassMessage(sim.connectionId, created.id, body))).toMatchObject({ kind: 'invalid', status: 400 });
    expect(await failure(client.deleteMassMessage(sim.connectionId, created.id))).toMatchObject({ kind: 'invalid', status: 400 });
  });

  test.each([
    ['B', 422, 'VALIDATION_FAILED'],
    ['sdk', 400, 'BAD_REQUEST'],
    ['text', 400, null],
  ] as const)('error format %s is parsed: status %i, code %s', async (errorFormat, status, code) => {
    const { sim, client } = await setup({ errorFormat });
    const error = await failure(client.createMassMessage(sim.connectionId, { text: 'no audience' }));
    expect(error).toMatchObject({ kind: 'invalid', status, code });
    expect(error.message).toContain('at least one of userIds or userLists');
    if (errorFormat === 'B') expect(error.details).toMatchObject({ field: 'userIds' });
  });
});

describe('retryable', () => {
  test('5xx on a read is retried with backoff, then reported with the attempt count', async () => {
    const { t, sim, client } = await setup({ faults: { serverErrorBeforeCommit: 1 } });
    const error = await failure(client.listMassMessages(sim.connectionId, { type: 'sent' }));
    expect(error).toMatchObject({ kind: 'retryable', status: 500, attempts: 3 });
    expect(t.sleeps).toHaveLength(2);
    for (const ms of t.sleeps) expect(ms).toBeGreaterThanOrEqual(100);
  });

  test('an update answered 500 after commit is replayed (PUT is a full replace) and succeeds', async () => {
    const { t, sim, client } = await setup();
    const created = await client.createMassMessage(sim.connectionId, scheduledBody(t.clock));
    sim.setFaults({ serverErrorAfterCommit: 1 });
    // The fault lasts for the first attempt only: the sleep between attempts lifts it.
    const sleep = async (ms: number) => {
      sim.setFaults({});
      await t.sleep(ms);
    };
    const healing = clientFor(sim, { clock: t.clock, sleep, retry });
    cleanups.push(() => healing.close());
    const updated = await healing.updateMassMessage(sim.connectionId, created.id, scheduledBody(t.clock, 7_200_000, { text: 'v2' }));
    expect(updated.id).toBe(created.id);
    expect(sim.requestCounts()['PUT /v2/access/messages/queue/:id 500']).toBe(1);
    expect(sim.messages()[0]?.updates).toBe(2);
  });

  test('connection refused before sending: retried, even for a create', async () => {
    const port = await closedPort();
    const t = manualTime();
    const client = clientFor({ url: `http://127.0.0.1:${port}`, apiKey: 'k' } as StartedSimulator, { clock: t.clock, sleep: t.sleep, retry });
    cleanups.push(() => client.close());
    const error = await failure(client.createMassMessage('conn_x', body));
    expect(error).toMatchObject({ kind: 'retryable', status: null, code: 'NETWORK_ERROR', attempts: 3 });
    expect(error.details).toMatchObject({ requestSent: false });
  });

  test('a read that times out is retryable', async () => {
    const { sim, client } = await setup({ faults: { latencyMs: [300, 300] } }, { timeoutMs: 50, retry: { ...retry, maxAttempts: 1 } });
    expect(await failure(client.listUserLists(sim.connectionId))).toMatchObject({ kind: 'retryable', code: 'TIMEOUT', status: null });
  });
});

describe('ambiguous: the create may have happened', () => {
  test('500 after commit: not retried; the message exists', async () => {
    const { sim, client } = await setup({ faults: { serverErrorAfterCommit: 1 } });
    expect(await failure(client.createMassMessage(sim.connectionId, body))).toMatchObject({ kind: 'ambiguous', status: 500, attempts: 1 });
    expect(posts(sim, '500')).toBe(1);
    expect(sim.messages()).toHaveLength(1);
  });

  test('500 before commit looks the same to the client, and is treated the same', async () => {
    const { sim, client } = await setup({ faults: { serverErrorBeforeCommit: 1 } });
    expect(await failure(client.createMassMessage(sim.connectionId, body))).toMatchObject({ kind: 'ambiguous', status: 500 });
    expect(sim.messages()).toHaveLength(0);
  });

  test('connection dropped after commit: ambiguous network error, not retried', async () => {
    const { sim, client } = await setup({ faults: { dropAfterCommit: 1 } });
    const error = await failure(client.createMassMessage(sim.connectionId, body));
    expect(error).toMatchObject({ kind: 'ambiguous', status: null, code: 'NETWORK_ERROR', attempts: 1 });
    expect(error.details).toMatchObject({ requestSent: true });
    expect(sim.requestCounts()).toEqual({ 'POST /v2/access/messages/queue dropped': 1 });
    expect(sim.messages()).toHaveLength(1);
  });

  test('a create that times out after sending is ambiguous', async () => {
    const { sim, client } = await setup({ faults: { latencyMs: [300, 300] } }, { timeoutMs: 50 });
    expect(await failure(client.createMassMessage(sim.connectionId, body))).toMatchObject({ kind: 'ambiguous', code: 'TIMEOUT', attempts: 1 });
  });

  test('a delete retried after a 500-after-commit meets "already canceled": reported ambiguous, not invalid', async () => {
    const { t, sim, client } = await setup();
    const created = await client.createMassMessage(sim.connectionId, scheduledBody(t.clock));
    sim.setFaults({ serverErrorAfterCommit: 1 });
    const error = await failure(client.deleteMassMessage(sim.connectionId, created.id));
    expect(error).toMatchObject({ kind: 'ambiguous', status: 400, attempts: 2 });
    expect(sim.messages()[0]?.state).toBe('canceled');
  });

  test('an update that keeps meeting 500-after-commit ends ambiguous once retries run out', async () => {
    const { t, sim, client } = await setup();
    const created = await client.createMassMessage(sim.connectionId, scheduledBody(t.clock));
    sim.setFaults({ serverErrorAfterCommit: 1 });
    const error = await failure(client.updateMassMessage(sim.connectionId, created.id, scheduledBody(t.clock)));
    expect(error).toMatchObject({ kind: 'ambiguous', status: 500, attempts: 3 });
    expect(sim.messages()[0]?.updates).toBe(3);
  });

  test('an update dropped after commit is ambiguous too', async () => {
    const { t, sim, client } = await setup();
    const created = await client.createMassMessage(sim.connectionId, scheduledBody(t.clock));
    sim.setFaults({ dropAfterCommit: 1 });
    expect(await failure(client.updateMassMessage(sim.connectionId, created.id, scheduledBody(t.clock)))).toMatchObject({ kind: 'ambiguous' });
  });
});

describe('signals and secrets', () => {
  test('an AbortSignal ends a call waiting for the bucket', async () => {
    const { sim, client } = await setup({}, { clock: new ManualClock(), sleep: (_ms, signal) => new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))), rateLimit: { capacity: 1, refillPerSecond: 1, headroom: 0 } });
    await client.listUserLists(sim.connectionId);
    const controller = new AbortController();
    const pending = failure(client.listUserLists(sim.connectionId, {}, { signal: controller.signal }));
    controller.abort();
    expect(await pending).toMatchObject({ code: 'ABORTED', kind: 'retryable' });
  });

  test('the API key appears in no log line and no error', async () => {
    const apiKey = 'sim_key_SECRET_123';
    const { sim, client, logs } = await setup({ apiKeys: [apiKey], faults: { serverErrorBeforeCommit: 1 } }, { apiKey });
    const errors = [
      await failure(client.listUserLists(sim.connectionId)),
      await failure(client.createMassMessage(sim.connectionId, body)),
      await failure(client.getMassMessage('conn_missing', 1)),
    ];
    const bad = clientFor(sim, { apiKey: 'sim_key_WRONG_456', logger: logs.logger });
    cleanups.push(() => bad.close());
    errors.push(await failure(bad.listUserLists(sim.connectionId)));
    expect(logs.lines.length).toBeGreaterThan(0);
    const text = [...logs.lines, ...errors.map((e) => `${e.message} ${JSON.stringify(e)} ${String(e.stack)}`)].join('\n');
    expect(text).not.toContain(apiKey);
    expect(text).not.toContain('sim_key_WRONG_456');
  });
});

/** A port nothing listens on: bind, read the port, close. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

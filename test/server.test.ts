import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestPgDatabase, type TestPgDatabase } from './helpers/postgres.ts';

interface Started {
  child: ChildProcess;
  output: () => string;
  baseUrl: string;
  exited: Promise<number | null>;
  /** The sandbox admin token, once the server has printed it (after its listening line, on another write). */
  sandboxToken(): Promise<string>;
}

const SANDBOX_TOKEN = /(fo_[A-Za-z0-9_-]{43})/;

/** Starts `src/server.ts` as `npm start` would, on a port the OS picks; resolves once it listens. */
async function startServer(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  const sandboxToken = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = SANDBOX_TOKEN.exec(output);
        if (!match) return false;
        child.stdout!.off('data', onMore);
        resolve(match[1]!);
        return true;
      };
      // Listeners run in order: the buffering listener above has appended the chunk already.
      const onMore = () => void check();
      if (check()) return;
      child.stdout!.on('data', onMore);
      void exited.then((code) => reject(new Error(`server exited with ${code} before printing a token:\n${output}`)));
    });
  return { child, output: () => output, baseUrl, exited, sandboxToken };
}

describe('server process', () => {
  let dir: string;
  let running: Started | null = null;
  afterEach(() => {
    running?.child.kill('SIGKILL');
    running = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts in sandbox mode, prints an admin token once, and shuts down cleanly on SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-server-'));
    const env = { DATABASE_PATH: join(dir, 'nested', 'fanout.db') };

    running = await startServer(env);
    const health = await (await fetch(`${running.baseUrl}/health`)).json();
    expect(health).toEqual({ status: 'ok', mode: 'sandbox', db: 'ok', backend: 'sqlite' });
    expect(running.output()).toContain('SANDBOX MODE');
    const token = await running.sandboxToken();
    expect(token).toMatch(SANDBOX_TOKEN);
    const tokens = await fetch(`${running.baseUrl}/v1/tokens`, { headers: { authorization: `Bearer ${token}` } });
    expect(tokens.status).toBe(200);
    // The secret appears once, on the terminal line that announces it, and in no log line.
    const logLines = running.output().split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.some((line) => line.includes(token!))).toBe(false);

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
    expect(running.output()).toContain('shutting down');

    running = await startServer(env);
    expect(/fo_[A-Za-z0-9_-]{43}/.test(running.output())).toBe(false);
    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });

  describe('on PostgreSQL', () => {
    let database: TestPgDatabase | undefined;
    afterEach(async () => {
      running?.child.kill('SIGKILL');
      await running?.exited;
      running = null;
      await database?.drop();
      database = undefined;
    });

    it('migrates an empty database, reports the backend on /health, never logs the password, and restarts onto it', async () => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-server-'));
      database = await createTestPgDatabase({ migrated: false });
      const password = new URL(database.url).password;
      const env = { DATABASE_URL: database.url, DATABASE_POOL_SIZE: '3', DATABASE_PATH: join(dir, 'unused.db') };

      running = await startServer(env);
      expect(await (await fetch(`${running.baseUrl}/health`)).json()).toEqual({ status: 'ok', mode: 'sandbox', db: 'ok', backend: 'postgres' });
      expect(running.output()).toContain('database ready');
      expect(running.output()).not.toContain(password);
      const token = await running.sandboxToken();
      const created = await fetch(`${running.baseUrl}/v1/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'marketing', role: 'marketer', connectionIds: null }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);

      // The sandbox admin and the token are in the database: a second start finds them.
      running = await startServer(env);
      expect(/fo_[A-Za-z0-9_-]{43}/.test(running.output())).toBe(false);
      const tokens = await fetch(`${running.baseUrl}/v1/tokens`, { headers: { authorization: `Bearer ${token}` } });
      expect(tokens.status).toBe(200);
    });

    it('hands its connection leases back and leaves the instances list on SIGTERM', async () => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-server-'));
      database = await createTestPgDatabase();
      const env = { DATABASE_URL: database.url, DATABASE_POOL_SIZE: '3', DATABASE_PATH: join(dir, 'unused.db'), SYNC_CRON: '* * * * * *', INSTANCE_ID: 'server-test-1' };
      running = await startServer(env);
      const token = await running.sandboxToken();
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const body = { name: 'held', connectionId: 'conn_sandbox', message: { text: 'Hi' }, audience: { userLists: [1] }, scheduledAt: new Date(Date.now() + 3_600_000).toISOString() };
      const created = await fetch(`${running.baseUrl}/v1/campaigns`, { method: 'POST', headers, body: JSON.stringify(body) });
      expect(created.status, await created.clone().text()).toBe(201);
      // A real process on a real clock: wait (bounded) for its sync tick to lease the connection.
      const deadline = Date.now() + 20_000;
      let instances: Array<{ id: string; connectionsHeld: number }> = [];
      while (Date.now() < deadline && instances[0]?.connectionsHeld !== 1) {
        instances = (await (await fetch(`${running.baseUrl}/v1/sync/status`, { headers })).json()).instances;
        if (instances[0]?.connectionsHeld !== 1) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(instances.map((i) => [i.id, i.connectionsHeld])).toEqual([['server-test-1', 1]]);

      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);
      const db = database.open(1);
      const rows = async (query: string) => (await db.$client.query(query)).rows;
      expect(await rows('SELECT id FROM instances')).toEqual([]);
      expect(await rows('SELECT connection_id, owner, expires_at FROM connection_leases')).toEqual([{ connection_id: 'conn_sandbox', owner: 'server-test-1', expires_at: null }]);
    });

    it('exits naming the database (password masked) when it cannot be reached', async () => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-server-'));
      const url = 'postgres://fanout:S3cret-pw@127.0.0.1:9/fanout';
      const failure = startServer({ DATABASE_URL: url, DATABASE_PATH: join(dir, 'unused.db') });
      const error = (await failure.catch((e: unknown) => e)) as Error;
      expect(error.message).toMatch(/cannot open the database/);
      expect(error.message).toContain('postgres://fanout:***@127.0.0.1:9/fanout');
      expect(error.message).not.toContain('S3cret-pw');
    });
  });

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-server-'));
    await expect(startServer({ DATABASE_PATH: join(dir, 'x.db'), PORT: 'abc', LATE_SEND_MAX: 'soon' })).rejects.toThrow(/PORT[\s\S]*LATE_SEND_MAX|LATE_SEND_MAX[\s\S]*PORT/);
  });
});

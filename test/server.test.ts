import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

interface Started {
  child: ChildProcess;
  output: () => string;
  baseUrl: string;
  exited: Promise<number | null>;
}

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
  return { child, output: () => output, baseUrl, exited };
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
    const token = /(fo_[A-Za-z0-9_-]{43})/.exec(running.output())?.[1];
    expect(token).toBeDefined();
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

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-server-'));
    await expect(startServer({ DATABASE_PATH: join(dir, 'x.db'), PORT: 'abc', LATE_SEND_MAX: 'soon' })).rejects.toThrow(/PORT[\s\S]*LATE_SEND_MAX|LATE_SEND_MAX[\s\S]*PORT/);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export { findFreePort } from '../ports.ts';

/**
 * Copies what `src/server.ts` runs from (sources, migrations, package.json) to `dest`, with
 * node_modules linked: every restart runs the code the test started with, even while the
 * working tree is being edited, as a restarted deployment would.
 */
export async function snapshotApp(root: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  for (const entry of ['src', 'migrations', 'package.json', 'tsconfig.json']) {
    await cp(join(root, entry), join(dest, entry), { recursive: true });
  }
  await symlink(join(root, 'node_modules'), join(dest, 'node_modules'), 'dir');
  return dest;
}

export interface ServerProcessOptions {
  /** Where `src/server.ts` lives: the repository, or a snapshotApp() copy of it. */
  cwd: string;
  /** The service's variables (PORT included); nothing else of the parent's environment leaks in. */
  env: Record<string, string>;
  port: number;
  readyTimeoutMs?: number;
  /** Lines of child output kept for the failure report. */
  logLines?: number;
}

type State = 'down' | 'starting' | 'up';

interface Waiter {
  minGeneration: number;
  resolve: (generation: number) => void;
  reject: (error: Error) => void;
}

/**
 * `src/server.ts` as a child process that can be SIGKILLed and started again on the same
 * database and port. Callers learn about restarts through `ready()`, never by sleeping.
 */
export class ServerProcess {
  readonly baseUrl: string;
  /** Exits the test did not cause (a crash of the service itself). */
  readonly unexpectedExits: string[] = [];
  /** Starts, readiness and kills with their times, for the failure report. */
  readonly timeline: string[] = [];
  readonly #createdAt = Date.now();
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #isKilling = false;
  #state: State = 'down';
  #generation = 0;
  #waiters: Waiter[] = [];
  #log: string[] = [];
  #closedWith: Error | null = null;

  constructor(private readonly options: ServerProcessOptions) {
    this.baseUrl = `http://127.0.0.1:${options.port}`;
  }

  /** Incremented by every start; a request sent under generation g died with g if g is gone. */
  get generation(): number {
    return this.#generation;
  }

  get isUp(): boolean {
    return this.#state === 'up';
  }

  /** Spawns the server and resolves once GET /health answers 200. */
  async start(): Promise<void> {
    if (this.#closedWith) throw this.#closedWith;
    if (this.#child) throw new Error('server child is already running');
    const generation = ++this.#generation;
    const startedAt = Date.now();
    this.#state = 'starting';
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: this.options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#isKilling = false;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#append(generation, chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.#append(generation, chunk));
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#append(generation, `[exit code=${code} signal=${signal}]\n`);
        this.#child = null;
        this.#state = 'down';
        if (!this.#isKilling) {
          const what = `generation ${generation} exited on its own (code ${code}, signal ${signal})`;
          this.unexpectedExits.push(what);
          // Nobody will restart it: callers waiting for a server must fail, not hang.
          const error = new Error(`${what}\n${this.logTail()}`);
          for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
        }
        resolve();
      });
    });
    await this.#waitForHealth(generation);
    this.#mark(`g${generation} ready after ${Date.now() - startedAt} ms`);
    this.#state = 'up';
    this.#notify();
  }

  /** SIGKILL: no shutdown hook runs, in-flight requests and OFAuth calls die mid-way. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    // Marked down before the signal, so a request failing because of it never looks transient.
    this.#state = 'down';
    this.#isKilling = true;
    child.kill('SIGKILL');
    await this.#exited;
    this.#mark(`g${this.#generation} SIGKILLed`);
  }

  /** SIGTERM and wait (SIGKILL after `graceMs`); resolves with the exit code, null if it had to be killed. */
  async stop(graceMs = 10_000): Promise<number | null> {
    const child = this.#child;
    if (!child) return null;
    this.#state = 'down';
    this.#isKilling = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
    return child.exitCode;
  }

  /** Resolves with the generation once a server of at least `minGeneration` is up. */
  ready(minGeneration = 0): Promise<number> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    if (this.#state === 'up' && this.#generation >= minGeneration) return Promise.resolve(this.#generation);
    return new Promise((resolve, reject) => this.#waiters.push({ minGeneration, resolve, reject }));
  }

  /** Kills the child if any and fails every pending ready() (teardown). */
  async close(reason = 'server harness closed'): Promise<void> {
    this.#closedWith = new Error(reason);
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closedWith);
    await this.kill();
  }

  /** The last lines the children printed, each prefixed with its generation. */
  logTail(): string {
    return this.#log.join('\n');
  }

  #mark(what: string): void {
    this.timeline.push(`+${((Date.now() - this.#createdAt) / 1000).toFixed(1)}s ${what}`);
  }

  #append(generation: number, chunk: string): void {
    for (const line of chunk.split('\n')) if (line.trim() !== '') this.#log.push(`[g${generation}] ${line}`);
    const max = this.options.logLines ?? 300;
    if (this.#log.length > max) this.#log.splice(0, this.#log.length - max);
  }

  #notify(): void {
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (this.#state === 'up' && this.#generation >= waiter.minGeneration) waiter.resolve(this.#generation);
      else this.#waiters.push(waiter);
    }
  }

  async #waitForHealth(generation: number): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (this.#child === null || this.#generation !== generation) {
        throw new Error(`server generation ${generation} exited before it became ready\n${this.logTail()}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        await response.arrayBuffer();
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`server generation ${generation} not healthy after ${this.options.readyTimeoutMs ?? 30_000} ms\n${this.logTail()}`);
      // Readiness polling: the child gives no other signal that it listens.
      await delay(50);
    }
  }
}

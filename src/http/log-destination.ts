import { writeSync } from 'node:fs';

/** What pino needs of a destination: it hands each line, newline included, to write(). */
export interface LogDestination {
  write(line: string): boolean;
  /** Writes whatever is buffered, now. */
  flushSync(): void;
}

const EAGAIN_WAIT_MS = 1;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Every byte of `bytes` to `fd`, retrying a full non-blocking pipe (EAGAIN) as pino's own destination does. */
function writeAll(fd: number, bytes: Buffer): void {
  let offset = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, EAGAIN_WAIT_MS);
    }
  }
}

/**
 * A pino destination on `fd` that writes the lines logged in one event-loop turn with one
 * write, at the end of the turn (setImmediate), instead of one write per line. Under load a
 * turn answers several requests; each write to a log file cost about 28 µs of CPU in bench:api
 * (ext4, 2 shared CPUs), more than the line's formatting. Writes stay synchronous and in order
 * (both of server.ts's loggers share one destination), and process exit (process.exit, an
 * uncaught error, a signal handled by server.ts) writes what is left. Only a kill that gives
 * the process no exit at all (SIGKILL, out of memory) can lose lines: those of its last turn.
 */
export function batchedDestination(fd: number): LogDestination {
  let pending = '';
  let isScheduled = false;
  const flushSync = () => {
    isScheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    writeAll(fd, Buffer.from(text));
  };
  process.on('exit', flushSync);
  return {
    write(line) {
      pending += line;
      if (!isScheduled) {
        isScheduled = true;
        setImmediate(flushSync);
      }
      return true;
    },
    flushSync,
  };
}

let stdout: LogDestination | null = null;

/** The process's one batched stdout destination, made on first use. */
export function batchedStdout(): LogDestination {
  stdout ??= batchedDestination(1);
  return stdout;
}

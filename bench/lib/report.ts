/** Formatting shared by the benchmarks: aligned tables and unmistakable aim lines. */
import Fastify from 'fastify';

export function printTable(title: string, rows: Array<[string, string]>): void {
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log(`\n${title}`);
  console.log('-'.repeat(Math.max(title.length, width + 20)));
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
}

/** Prints one aim and returns whether it was met. A missed aim is a finding, not an error: no exit code. */
export function printAim(description: string, isMet: boolean, measured: string): boolean {
  console.log(isMet ? `  aim met     ${description} (measured ${measured})` : `  AIM MISSED  ${description} (measured ${measured})`);
  return isMet;
}

export const seconds = (ms: number, digits = 2) => `${(ms / 1000).toFixed(digits)} s`;
export const millis = (ms: number, digits = 3) => `${ms.toFixed(digits)} ms`;
export const micros = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
export const percent = (part: number, whole: number) => `${whole === 0 ? '0.00' : ((100 * part) / whole).toFixed(2)} %`;
export const thousands = (n: number) => n.toLocaleString('en-US');
export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Percentile by nearest rank on an already sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * A quiet logger for the service: pino at warn level, as createFanout takes it, writing nowhere
 * but counting warnings and errors and keeping the first few.
 */
export function collectingLogger(keep = 5) {
  const samples: string[] = [];
  const counts = { warn: 0, error: 0 };
  const stream = {
    write(line: string) {
      const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...rest } = JSON.parse(line) as { level: number; msg?: string; [key: string]: unknown };
      const name = level >= 50 ? 'error' : 'warn';
      counts[name]++;
      if (samples.length < keep) samples.push(`${name}: ${msg ?? ''} ${JSON.stringify(rest)}`);
    },
  };
  return { logger: Fastify({ logger: { level: 'warn', stream } }).log, counts, samples };
}

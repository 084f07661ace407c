/**
 * bench:ui — what the dashboard's heaviest pages cost at 100,000 campaigns, beside the API.
 *
 * Seeds 100,000 one-shot campaigns (as bench:api does: 90 days of them, each but the drafts
 * with its send) into a temp-file database, serves it from a child process (createFanout +
 * buildApp, the dashboard included, as server.ts wires them), signs in through the sign-in
 * form, and measures with autocannon, in the same run and the same way:
 *
 *   ui  GET /calendar                   this week, every send of each day counted, 25 listed
 *   ui  GET /calendar?view=month        six weeks, 4 listed per day and the rest counted
 *   ui  GET /campaigns                  the list's first page (25 rows, with their figures)
 *   ui  GET /campaigns?q=…              a name search
 *   api GET /v1/campaigns?limit=25      the API's list route, for comparison
 *
 * One connection by default, so latency is the server's time per page (plus loopback), not a
 * queue. The server's CPU per request is printed too.
 *
 *   npm run bench:ui [-- --rows 100000 --duration 10 --warmup 2 --connections 1]
 *
 * Aim: p99 < 50 ms for the calendar (both views) and the campaigns page. A missed aim prints
 * AIM MISSED; only errors exit non-zero.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import { systemClock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { createOfauthClient } from '../src/ofauth/client.ts';
import { prng, seedApiCampaigns } from './lib/api-seed.ts';
import { openTempDb } from './lib/db.ts';
import { benchFanout } from './lib/fanout.ts';
import { mib, printAim, printTable, thousands } from './lib/report.ts';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '1' },
    seed: { type: 'string', default: '20300101' },
  },
});
const ROWS = Number(args.rows);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const AIM_P99_MS = 50;

interface Server {
  url: string;
  child: ChildProcess;
}

function startServer(dbPath: string): Promise<Server> {
  const child = fork(fileURLToPath(new URL('./lib/api-server.ts', import.meta.url)), ['ours', dbPath], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve({ url: `http://127.0.0.1:${message.port}`, child }));
    child.once('exit', (code) => reject(new Error(`server exited with code ${code} before listening`)));
  });
}

function serverCpuUs(server: Server): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: { cpu?: NodeJS.CpuUsage }) => {
      if (!message.cpu) return;
      server.child.off('message', onMessage);
      resolve(message.cpu.user + message.cpu.system);
    };
    server.child.on('message', onMessage);
    server.child.send('cpu');
  });
}

const cookieOf = (res: Response) => (res.headers.getSetCookie().find((c) => c.startsWith('fanout_session=')) ?? '').split(';')[0]!;

/** Signs in through the form, as a browser would, and returns the session cookie. */
async function signIn(url: string, secret: string): Promise<string> {
  const page = await fetch(`${url}/sign-in`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrf) throw new Error('the sign-in page has no CSRF token');
  const res = await fetch(`${url}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookieOf(page), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token: secret, timeZone: 'Europe/Berlin', next: '/calendar' }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  return cookieOf(res);
}

interface Measurement {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  cpuPerRequestUs: number;
  bytes: number;
}

async function measure(name: string, server: Server, path: string, headers: Record<string, string>): Promise<Measurement> {
  const url = `${server.url}${path}`;
  const check = await fetch(url, { headers, redirect: 'manual' });
  if (check.status !== 200) throw new Error(`${name}: ${check.status}`);
  const bytes = (await check.arrayBuffer()).byteLength;
  await autocannon({ url, headers, connections: CONNECTIONS, duration: WARMUP_S });
  const cpuBefore = await serverCpuUs(server);
  const raw: Result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S });
  const cpuUs = (await serverCpuUs(server)) - cpuBefore;
  if (raw.non2xx + raw.errors + raw.timeouts > 0) throw new Error(`${name}: ${raw.non2xx} non-2xx, ${raw.errors} errors, ${raw.timeouts} timeouts`);
  return {
    name,
    requestsPerSecond: raw.requests.average,
    p50Ms: raw.latency.p50,
    p99Ms: raw.latency.p99,
    requests: raw.requests.total,
    cpuPerRequestUs: cpuUs / Math.max(1, raw.requests.total),
    bytes,
  };
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0]!;
  const temp = openTempDb('ui');
  const seedStarted = performance.now();
  seedApiCampaigns(temp.db, ROWS, prng(Number(args.seed)));
  const seedMs = performance.now() - seedStarted;
  const sendsThisWeek = temp.db.$client
    .prepare('SELECT count(*) FROM sends WHERE coalesce(due_at, created_at) BETWEEN ? AND ?')
    .pluck()
    .get(systemClock.now() - 7 * 86_400_000, systemClock.now()) as number;

  const issuer = await benchFanout({ db: temp.db, config: loadConfig({}), clock: systemClock, client: createOfauthClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'unused' }) });
  const { secret } = await issuer.services.tokens.issue({ name: 'bench', role: 'admin' });
  temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  await issuer.stop();

  console.log(`bench:ui  ${thousands(ROWS)} campaigns seeded in ${(seedMs / 1000).toFixed(2)} s (${mib(temp.sizeBytes())}); ${thousands(sendsThisWeek)} sends in the last 7 days`);
  console.log(`          autocannon: ${CONNECTIONS} connection(s), ${WARMUP_S} s warm-up + ${DURATION_S} s per target`);

  let server: Server | null = null;
  const results: Measurement[] = [];
  try {
    server = await startServer(temp.path);
    const cookie = { cookie: await signIn(server.url, secret) };
    results.push(await measure('ui  GET /calendar (week)', server, '/calendar', cookie));
    results.push(await measure('ui  GET /calendar?view=month', server, '/calendar?view=month', cookie));
    results.push(await measure('ui  GET /campaigns', server, '/campaigns', cookie));
    results.push(await measure('ui  GET /campaigns?q=drops', server, '/campaigns?q=drops', cookie));
    results.push(await measure('api GET /v1/campaigns?limit=25', server, '/v1/campaigns?limit=25', { authorization: `Bearer ${secret}` }));
  } finally {
    if (server) {
      const child = server.child;
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
    temp.dispose();
  }

  const width = Math.max(...results.map((m) => m.name.length));
  printTable('results (latency: autocannon over loopback; CPU: server process per request; size: the body)', [
    ['target'.padEnd(width), `${'req/s'.padStart(8)}  ${'p50'.padStart(7)}  ${'p99'.padStart(7)}  ${'requests'.padStart(9)}  ${'CPU/req'.padStart(10)}  ${'size'.padStart(9)}`],
    ...results.map((m): [string, string] => [
      m.name.padEnd(width),
      `${m.requestsPerSecond.toFixed(0).padStart(8)}  ${`${m.p50Ms} ms`.padStart(7)}  ${`${m.p99Ms} ms`.padStart(7)}  ${thousands(m.requests).padStart(9)}  ${`${(m.cpuPerRequestUs / 1000).toFixed(2)} ms`.padStart(10)}  ${`${(m.bytes / 1024).toFixed(1)} KB`.padStart(9)}`,
    ]),
  ]);
  console.log(`\n  load average (1 min) before/after: ${loadBefore.toFixed(2)} / ${os.loadavg()[0]!.toFixed(2)} on ${os.availableParallelism()} CPUs\n`);
  for (const m of results.slice(0, 3)) printAim(`${m.name.trim()} p99 < ${AIM_P99_MS} ms at ${thousands(ROWS)} campaigns`, m.p99Ms < AIM_P99_MS, `${m.p99Ms} ms`);
}

await main();

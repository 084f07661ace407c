/**
 * `npm run simulator`: the OFAuth stand-in on its own, for manual runs and the sandbox.
 * Environment: SIM_PORT (default 4010), SIM_HOST (default 127.0.0.1), SIM_LOG=1 for request logs.
 * This file is the simulator's process edge, so it alone reads process.env (see eslint config).
 */
import { buildSimulator } from './app.ts';

const port = Number(process.env.SIM_PORT ?? 4010);
const host = process.env.SIM_HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`SIM_PORT must be a port number, got "${process.env.SIM_PORT}"`);
  process.exit(1);
}

const simulator = await buildSimulator({ logger: process.env.SIM_LOG === '1' });
await simulator.app.listen({ port, host });
const url = `http://${host}:${port}`;
console.log(
  [
    `OFAuth simulator listening on ${url}`,
    `  OFAUTH_BASE_URL=${url}`,
    `  apiKey:            ${simulator.apiKey}`,
    `  x-connection-id:   ${simulator.connectionId}`,
    `  try: curl -H 'apiKey: ${simulator.apiKey}' -H 'x-connection-id: ${simulator.connectionId}' ${url}/v2/access/users/lists`,
    `  inspect: ${url}/__sim/messages  ${url}/__sim/requests`,
  ].join('\n'),
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void simulator.app.close().then(() => process.exit(0));
  });
}

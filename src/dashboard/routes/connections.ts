import type { Principal } from '../../tokens/service.ts';
import type { Dashboard } from '../plugin.ts';

/**
 * The connections a principal can pick from: its own, or (unrestricted) the ones the service
 * knows, plus the sandbox simulator's. A typed id outside these still goes to the service,
 * which decides.
 */
export async function connectionChoices(dashboard: Dashboard, principal: Principal): Promise<string[]> {
  if (principal.connectionIds !== null) return [...principal.connectionIds].sort();
  const { services, simulator } = dashboard.fanout;
  const summary = await services.stats.summary(principal, { from: new Date(dashboard.fanout.clock.now()).toISOString() });
  const ids = new Set(summary.connections.map((c) => c.connectionId));
  if (simulator) ids.add(simulator.connectionId);
  return [...ids].sort();
}

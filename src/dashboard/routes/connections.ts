import type { Principal } from '../../tokens/service.ts';
import type { Dashboard } from '../plugin.ts';

/**
 * The connections offered as suggestions: a restricted principal's own, or (unrestricted) the
 * sandbox simulator's and those the page already shows. Suggestions only: a typed id still
 * goes to the services, which decide. Kept free of queries, as it is on every busy page.
 */
export function connectionChoices(dashboard: Dashboard, principal: Principal, seen: Iterable<string> = []): string[] {
  if (principal.connectionIds !== null) return [...principal.connectionIds].sort();
  const ids = new Set(seen);
  if (dashboard.fanout.simulator) ids.add(dashboard.fanout.simulator.connectionId);
  return [...ids].sort();
}

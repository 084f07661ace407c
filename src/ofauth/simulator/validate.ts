import { hasRecipients, massMessageBodySchema, type MassMessageBody } from '../schemas.ts';
import type { SimConnection } from './store.ts';

export type BodyCheck =
  | { ok: true; body: MassMessageBody; scheduledAt: number | null }
  | { ok: false; message: string; details: Record<string, string> };

function fail(field: string, message: string): BodyCheck {
  return { ok: false, message: `${field}: ${message}`, details: { field, message } };
}

/**
 * The contract's validation (§2.1) plus the simulator's assumptions: at least one recipient
 * source, list ids that exist on the connection, parseable dates. A past scheduledDate is
 * accepted and sends at once (OFAuth's rule is unknown).
 */
export function checkMassMessageBody(raw: unknown, connection: SimConnection): BodyCheck {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('body', 'must be a JSON object');
  const parsed = massMessageBodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail(issue?.path.join('.') || 'body', issue?.message ?? 'invalid');
  }
  const body = parsed.data;
  if (!hasRecipients(body)) return fail('userIds', 'at least one of userIds or userLists is required');
  for (const field of ['userLists', 'excludeUserLists'] as const) {
    const unknown = (body[field] ?? []).find((id) => !connection.lists.has(String(id)));
    if (unknown !== undefined) return fail(field, `unknown list id ${String(unknown)}`);
  }
  let scheduledAt: number | null = null;
  if (body.scheduledDate !== undefined && body.scheduledDate !== null) {
    scheduledAt = Date.parse(body.scheduledDate);
    if (Number.isNaN(scheduledAt)) return fail('scheduledDate', 'must be an ISO-8601 date');
  }
  if (body.subscribedAfterDate !== undefined && body.subscribedAfterDate !== null && Number.isNaN(Date.parse(body.subscribedAfterDate))) {
    return fail('subscribedAfterDate', 'must be an ISO-8601 date');
  }
  return { ok: true, body, scheduledAt };
}

import { z } from 'zod';

/** RFC 9457 problem details, the one shape of every error this API answers. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    instance: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details (served as application/problem+json).',
    example: {
      type: '/problems/validation_failed',
      title: 'Request validation failed',
      status: 400,
      detail: 'body/message/price: price must be 0 (free) or between 3 and 200',
      code: 'validation_failed',
      errors: [{ path: 'body/message/price', message: 'price must be 0 (free) or between 3 and 200' }],
    },
  });

const MIN_ISO_MS = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_ISO_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * ISO-8601 with an explicit offset (Z or ±hh:mm), as a marketer's tool would send it.
 * The instant must also fall within years 0000–9999 in UTC: an offset can push a valid local
 * time such as 9999-12-31T23:59:59-05:00 into year 10000, whose toISOString() ("+010000-…")
 * fails the response schema, which turned an accepted create into a 500 after it was stored.
 */
export const isoDateTimeSchema = z.iso
  .datetime({ offset: true, message: 'expected ISO-8601 date-time with an offset, e.g. 2030-01-01T12:00:00Z' })
  .refine((text) => {
    const ms = Date.parse(text);
    return ms >= MIN_ISO_MS && ms <= MAX_ISO_MS;
  }, 'must fall between years 0000 and 9999 in UTC');

export const cursorSchema = z.string().min(1).max(200).optional().describe('Opaque cursor from the previous page\'s nextCursor.');

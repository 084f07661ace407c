import { z } from 'zod';

const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['admin', 'marketer']),
  connectionIds: z.array(z.string()).nullable(),
  createdAt: z.iso.datetime(),
});

export const createTokenBodySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100),
    role: z.enum(['admin', 'marketer']),
    connectionIds: z
      .array(z.string().regex(/^conn_[A-Za-z0-9_-]{1,120}$/, 'expected an OFAuth connection id such as conn_abc123'))
      // An empty list used to be stored as null, i.e. every connection: a token meant to reach
      // nothing reached everything. Refuse it rather than guess.
      .min(1, 'name at least one connection, or omit connectionIds (or send null) for all')
      .nullable()
      .optional()
      .describe('Connections this token may touch; omit or null for all.'),
  })
  .meta({ example: { name: 'alice@agency', role: 'marketer', connectionIds: ['conn_sandbox'] } });

export const createdTokenSchema = tokenSchema.extend({
  secret: z.string().describe('The bearer secret. Shown only in this response; store it now.'),
});

export const tokenListSchema = z.object({ items: z.array(tokenSchema) });

export const tokenParamsSchema = z.object({ id: z.string().min(1).max(100) });

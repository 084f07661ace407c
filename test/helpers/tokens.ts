import type { FastifyInstance } from 'fastify';

export interface IssuedToken {
  id: string;
  secret: string;
  headers: { authorization: string };
}

/** Issues a token through POST /v1/tokens with the given admin headers; fails on anything but 201. */
export async function issueToken(
  app: FastifyInstance,
  adminHeaders: Record<string, string>,
  body: { name: string; role: 'admin' | 'marketer'; connectionIds?: string[] | null },
): Promise<IssuedToken> {
  const res = await app.inject({ method: 'POST', url: '/v1/tokens', headers: adminHeaders, payload: body });
  if (res.statusCode !== 201) throw new Error(`token issue failed: ${res.statusCode} ${res.body}`);
  const { id, secret } = res.json() as { id: string; secret: string };
  return { id, secret, headers: { authorization: `Bearer ${secret}` } };
}

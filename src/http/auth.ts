import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../errors.ts';
import type { Principal, TokenService } from '../tokens/service.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/**
 * Requires `Authorization: Bearer <token>` on every route registered in this scope and puts the
 * caller on request.principal. Unknown and missing tokens get the same 401 so neither is probed.
 */
export function registerBearerAuth(scope: FastifyInstance, tokens: TokenService): void {
  scope.decorateRequest('principal', null);
  scope.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const principal = match ? await tokens.authenticate(match[1]!) : null;
    if (!principal) throw new UnauthorizedError();
    request.principal = principal;
  });
}

/** The authenticated caller; only valid inside a scope with registerBearerAuth. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError();
  return request.principal;
}

import type { Clock } from '../clock.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { newTokenId } from '../ids.ts';
import type { TokenRepository, TokenRow } from './repository.ts';
import { generateSecret, hashSecret, secretsMatch } from './secrets.ts';

export type Role = 'admin' | 'marketer';

/** Who is calling: resolved from the bearer token on every /v1 request. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Null: every connection. */
  connectionIds: string[] | null;
}

export interface TokenView {
  id: string;
  name: string;
  role: Role;
  connectionIds: string[] | null;
  createdAt: string;
}

const ENV_ADMIN_ID = 'tok_env_admin';
const SANDBOX_ADMIN_NAME = 'sandbox-admin';

const toView = (row: TokenRow): TokenView => ({
  id: row.id,
  name: row.name,
  role: row.role,
  connectionIds: row.connectionIds ?? null,
  createdAt: new Date(row.createdAt).toISOString(),
});

/** Issues, lists, revokes and checks bearer tokens. Secrets leave only once, at creation. */
export function createTokenService(deps: { repository: TokenRepository; clock: Clock; adminToken: string | null }) {
  const { repository, clock, adminToken } = deps;

  function issue(input: { name: string; role: Role; connectionIds?: string[] | null }) {
    const secret = generateSecret();
    const row = repository.insert({
      id: newTokenId(clock.now()),
      name: input.name,
      role: input.role,
      // Only null means every connection; an empty list (never from the API, whose schema refuses it) means none.
      connectionIds: input.connectionIds ? [...new Set(input.connectionIds)] : null,
      secretHash: hashSecret(secret),
      createdAt: clock.now(),
    });
    return { token: toView(row), secret };
  }

  return {
    issue,

    authenticate(secret: string): Principal | null {
      if (adminToken && secretsMatch(secret, adminToken)) {
        return { tokenId: ENV_ADMIN_ID, name: 'admin', role: 'admin', connectionIds: null };
      }
      const row = repository.findActiveByHash(hashSecret(secret));
      if (!row) return null;
      return { tokenId: row.id, name: row.name, role: row.role, connectionIds: row.connectionIds ?? null };
    },

    list(): TokenView[] {
      return repository.listActive().map(toView);
    },

    revoke(id: string): void {
      if (id === ENV_ADMIN_ID) throw new ForbiddenError('The ADMIN_TOKEN from the environment cannot be revoked through the API.');
      if (!repository.revoke(id, clock.now())) throw new NotFoundError('token', id);
    },

    /**
     * In sandbox mode without ADMIN_TOKEN, makes an admin token on the first start and returns its
     * secret (to print once). Later starts find it already there and return null.
     */
    ensureSandboxAdmin(): string | null {
      if (adminToken || repository.findActiveByName(SANDBOX_ADMIN_NAME)) return null;
      return issue({ name: SANDBOX_ADMIN_NAME, role: 'admin' }).secret;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;

export function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError('Only admin tokens may manage tokens.');
}

/** Whether a token may see a connection's campaigns. */
export function canAccessConnection(principal: Principal, connectionId: string): boolean {
  return principal.connectionIds === null || principal.connectionIds.includes(connectionId);
}

import type { Clock } from '../clock.ts';
import { ForbiddenError, NotFoundError } from '../errors.ts';
import { newTokenId } from '../ids.ts';
import type { TokenRecord, TokenStore } from '../store/types.ts';
import { generateSecret, hashesMatch, hashSecret } from './secrets.ts';

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

const toView = (row: TokenRecord): TokenView => ({
  id: row.id,
  name: row.name,
  role: row.role,
  connectionIds: row.connectionIds ?? null,
  createdAt: new Date(row.createdAt).toISOString(),
});

/** Issues, lists, revokes and checks bearer tokens. Secrets leave only once, at creation. */
export function createTokenService(deps: { tokens: TokenStore; clock: Clock; adminToken: string | null }) {
  const { tokens, clock, adminToken } = deps;
  // Hashed once here rather than on every request: authenticate runs before every /v1 handler.
  const adminTokenHash = adminToken ? hashSecret(adminToken) : null;

  // Principals by secret hash, so a request costs one hash instead of a query. Correct as long as
  // every change to api_tokens either goes through revoke() below (which empties it) or is made by
  // another process, which moves the store's token version (PRAGMA data_version on SQLite, the
  // version row on PostgreSQL, read at most once a second) and empties it on a later request.
  const principals = new Map<string, Principal>();
  const MAX_CACHED_PRINCIPALS = 10_000;
  let principalsVersion = -1;

  // Principals by token id, for dashboard sessions (which hold the id, never the secret):
  // reloaded whole when the tokens change, which is rare; the table is small.
  let principalsById: Map<string, Principal> | null = null;
  let principalsByIdVersion = -1;
  const envAdmin: Principal = Object.freeze({ tokenId: ENV_ADMIN_ID, name: 'admin', role: 'admin', connectionIds: null });
  const toPrincipal = (row: TokenRecord): Principal =>
    Object.freeze({ tokenId: row.id, name: row.name, role: row.role, connectionIds: row.connectionIds ? (Object.freeze([...row.connectionIds]) as string[]) : null });

  async function issue(input: { name: string; role: Role; connectionIds?: string[] | null }) {
    const secret = generateSecret();
    const row = await tokens.insert({
      id: newTokenId(clock.now()),
      name: input.name,
      role: input.role,
      // Only null means every connection; an empty list (never from the API, whose schema refuses it) means none.
      connectionIds: input.connectionIds ? [...new Set(input.connectionIds)] : null,
      secretHash: hashSecret(secret),
      createdAt: clock.now(),
      revokedAt: null,
    });
    principalsById = null;
    return { token: toView(row), secret };
  }

  return {
    issue,

    async authenticate(secret: string): Promise<Principal | null> {
      const secretHash = hashSecret(secret);
      if (adminTokenHash && hashesMatch(secretHash, adminTokenHash)) {
        return envAdmin;
      }
      const version = await tokens.version(clock.now());
      if (version !== principalsVersion) {
        principals.clear();
        principalsVersion = version;
      }
      const cached = principals.get(secretHash);
      if (cached) return cached;
      const row = await tokens.findActiveByHash(secretHash);
      if (!row) return null;
      // Frozen: one object is shared by every request that presents this token.
      const principal = toPrincipal(row);
      if (principals.size >= MAX_CACHED_PRINCIPALS) principals.clear();
      principals.set(secretHash, principal);
      return principal;
    },

    /**
     * The principal of an active token, by id: what a dashboard session resolves on every page,
     * so a revoked token's sessions end at once and the session acts exactly as the token would.
     */
    async principalById(tokenId: string): Promise<Principal | null> {
      if (tokenId === ENV_ADMIN_ID) return adminTokenHash ? envAdmin : null;
      const version = await tokens.version(clock.now());
      if (principalsById === null || version !== principalsByIdVersion) {
        principalsById = new Map((await tokens.listActive()).map((row) => [row.id, toPrincipal(row)]));
        principalsByIdVersion = version;
      }
      return principalsById.get(tokenId) ?? null;
    },

    async list(): Promise<TokenView[]> {
      return (await tokens.listActive()).map(toView);
    },

    async revoke(id: string): Promise<void> {
      if (id === ENV_ADMIN_ID) throw new ForbiddenError('The ADMIN_TOKEN from the environment cannot be revoked through the API.');
      const isRevoked = await tokens.revoke(id, clock.now());
      principals.clear();
      principalsById = null;
      if (!isRevoked) throw new NotFoundError('token', id);
    },

    /**
     * In sandbox mode without ADMIN_TOKEN, makes an admin token on the first start and returns its
     * secret (to print once). Later starts find it already there and return null.
     */
    async ensureSandboxAdmin(): Promise<string | null> {
      if (adminToken || (await tokens.findActiveByName(SANDBOX_ADMIN_NAME))) return null;
      return (await issue({ name: SANDBOX_ADMIN_NAME, role: 'admin' })).secret;
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;

/**
 * An admin limited to some connections may only issue tokens limited to (a subset of) those;
 * otherwise it could mint an unrestricted token and step outside its own scope.
 */
export function assertCanGrant(issuer: Principal, connectionIds: string[] | null | undefined): void {
  if (issuer.connectionIds === null) return;
  const outside = connectionIds ? connectionIds.filter((id) => !issuer.connectionIds!.includes(id)) : null;
  if (outside === null) throw new ForbiddenError('A token limited to some connections can only issue tokens limited to those connections.');
  if (outside.length > 0) throw new ForbiddenError(`This token may not grant connections ${outside.join(', ')}.`);
}

export function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError('Only admin tokens may manage tokens.');
}

/** Whether a token may see a connection's campaigns. */
export function canAccessConnection(principal: Principal, connectionId: string): boolean {
  return principal.connectionIds === null || principal.connectionIds.includes(connectionId);
}

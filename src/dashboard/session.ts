import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../clock.ts';
import type { Principal, TokenService } from '../tokens/service.ts';
import { timeZones } from './time.ts';

/*
 * A dashboard session is a sealed cookie (@fastify/secure-session: encrypted and authenticated
 * with SESSION_SECRET) holding the token's id, when the sign-in ends and the marketer's time
 * zone. Never the token's secret: on every page the id is resolved through the token service,
 * so the session acts exactly as its bearer token would, and ends when that token is revoked.
 */

export interface SessionState {
  principal: Principal;
  timeZone: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    dashboard: SessionState | null;
  }
}

type SessionKey = 'tokenId' | 'expiresAt' | 'timeZone' | '_csrf' | 'flash';

/** The sealed cookie's fields; read back through typeof checks, as any cookie is untrusted shape. */
interface SessionBag {
  get(key: SessionKey): unknown;
  set(key: SessionKey, value: string | number | undefined): void;
  delete(): void;
}

// @fastify/secure-session types `set` by an augmentable SessionData its typings do not export.
const bag = (request: FastifyRequest): SessionBag => (request as unknown as { session: SessionBag }).session;

export const isTimeZone = (zone: string): boolean => timeZones.includes(zone);

/** Starts a session for this token's principal; the CSRF secret is replaced with the sign-in. */
export function startSession(request: FastifyRequest, principal: Principal, timeZone: string, clock: Clock, ttlMs: number): void {
  bag(request).set('_csrf', undefined);
  bag(request).set('tokenId', principal.tokenId);
  bag(request).set('expiresAt', clock.now() + ttlMs);
  bag(request).set('timeZone', isTimeZone(timeZone) ? timeZone : 'UTC');
}

export function setTimeZone(request: FastifyRequest, zone: string): void {
  if (isTimeZone(zone)) bag(request).set('timeZone', zone);
}

/**
 * Carries a little text (a save's warnings) over the redirect that follows a form, read once.
 * It rides in the sealed cookie, so the caller keeps it small (a cookie holds about 4 KB).
 */
export function putFlash(request: FastifyRequest, value: string): void {
  bag(request).set('flash', value);
}

export function takeFlash(request: FastifyRequest): string | null {
  const value = bag(request).get('flash');
  if (value === undefined) return null;
  bag(request).set('flash', undefined);
  return typeof value === 'string' ? value : null;
}

export function endSession(request: FastifyRequest): void {
  bag(request).delete();
}

/** The signed-in principal, or null (no session, expired, or its token revoked). */
export async function resolveSession(request: FastifyRequest, tokens: TokenService, clock: Clock): Promise<SessionState | null> {
  const tokenId = bag(request).get('tokenId');
  const expiresAt = bag(request).get('expiresAt');
  if (typeof tokenId !== 'string' || typeof expiresAt !== 'number') return null;
  if (clock.now() >= expiresAt) {
    bag(request).delete();
    return null;
  }
  const principal = await tokens.principalById(tokenId);
  if (!principal) {
    bag(request).delete();
    return null;
  }
  const zone = bag(request).get('timeZone');
  return { principal, timeZone: typeof zone === 'string' && isTimeZone(zone) ? zone : 'UTC' };
}

/** Only a path on this site is a safe place to return to after signing in. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) && !value.startsWith('/sign-') ? value : '/calendar';
}

/** Sends an unsigned visitor to the sign-in page (an htmx request is told to go there whole). */
export function redirectToSignIn(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const next = request.method === 'GET' ? request.url : '/calendar';
  const target = `/sign-in?next=${encodeURIComponent(next)}`;
  if (request.headers['hx-request']) return reply.code(401).header('hx-redirect', target).send();
  return reply.redirect(target, 303);
}

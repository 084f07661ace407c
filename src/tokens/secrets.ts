import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new bearer secret; only its hash is ever stored. */
export function generateSecret(): string {
  return `fo_${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 hex; the one-shot crypto.hash, since this runs on every authenticated request. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** Constant-time comparison of two hashSecret() results (hashing first means lengths never leak). */
export function hashesMatch(presentedHash: string, expectedHash: string): boolean {
  return timingSafeEqual(Buffer.from(presentedHash, 'hex'), Buffer.from(expectedHash, 'hex'));
}

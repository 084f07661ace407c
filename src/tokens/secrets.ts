import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new bearer secret; only its hash is ever stored. */
export function generateSecret(): string {
  return `fo_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of two secrets (through their hashes, so lengths never leak). */
export function secretsMatch(presented: string, expected: string): boolean {
  return timingSafeEqual(Buffer.from(hashSecret(presented), 'hex'), Buffer.from(hashSecret(expected), 'hex'));
}

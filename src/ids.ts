import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function freshRandom(): number[] {
  return [...randomBytes(16)].map((b) => b % 32);
}

/** Increments the 80-bit random part so ids minted in the same millisecond still sort in order. */
function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i]!++;
      return next;
    }
    next[i] = 0;
  }
  return freshRandom();
}

/**
 * A monotonic ULID: 48 bits of time then 80 random bits, Crockford base32. Sorting ids sorts by
 * creation time, which is what lets the campaign list use the id as its keyset cursor.
 */
export function ulid(nowMs: number): string {
  if (nowMs <= lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = nowMs;
    lastRandom = freshRandom();
  }
  return encodeTime(lastTime) + lastRandom.map((d) => CROCKFORD[d]).join('');
}

export const newCampaignId = (nowMs: number) => `cmp_${ulid(nowMs)}`;
export const newTokenId = (nowMs: number) => `tok_${ulid(nowMs)}`;
export const newSendId = (nowMs: number) => `snd_${ulid(nowMs)}`;

/** Ids as newCampaignId and newSendId make them (Crockford base32: no I, L, O or U). */
export const CAMPAIGN_ID_PATTERN = /^cmp_[0-9A-HJKMNP-TV-Z]{26}$/;
export const SEND_ID_PATTERN = /^snd_[0-9A-HJKMNP-TV-Z]{26}$/;

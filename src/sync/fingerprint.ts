import { createHash } from 'node:crypto';
import type { Message } from '../campaigns/model.ts';
import type { StatsItem } from '../ofauth/schemas.ts';

/**
 * What can be recognised of a mass message in OFAuth's stats lists. The lists show text (as
 * HTML), date, price and media count, but not the audience, so the audience cannot be part of it.
 */
export interface Fingerprint {
  textKey: string;
  /** The scheduledDate sent, or null for "send now". */
  scheduledAt: number | null;
  priceCents: number;
  mediaCount: number;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/**
 * Reduces text to letters and digits: OFAuth returns markdown rendered as HTML (`**a**` comes
 * back as `<p><strong>a</strong></p>`), so tags, entities, markup and spacing are all dropped.
 */
export function textKey(text: string): string {
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#?\w+);/g, (whole, name: string) => ENTITIES[name.toLowerCase()] ?? (name.startsWith('#') ? String.fromCodePoint(Number(name.slice(1))) : whole));
  const key = plain.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

export function fingerprintOf(message: Pick<Message, 'text' | 'price' | 'mediaItems'>, scheduledAt: number | null): Fingerprint {
  return {
    textKey: textKey(message.text),
    scheduledAt,
    priceCents: Math.round(message.price * 100),
    mediaCount: message.mediaItems.length,
  };
}

/**
 * How far the remote `date` of a scheduled message may be from what was sent (OFAuth drops
 * milliseconds). Under half a minute: a series' occurrences fall on whole minutes at least a
 * minute apart, and two of them with the same text must never match each other's message (the
 * crash test caught a 60 s tolerance adopting the next occurrence's message).
 */
const DATE_TOLERANCE_MS = 30_000;

/**
 * How late a series occurrence may still be sent now. A message sent without a scheduledDate is
 * dated by OFAuth when it goes; sent within the date tolerance of the next occurrence's time it
 * could not be told from that occurrence's message in a search, so a late occurrence is missed
 * rather than sent that close to the next one (occurrences are at least `minIntervalMs` apart).
 */
export function occurrenceLateMaxMs(lateSendMaxMs: number, minIntervalMs: number): number {
  return Math.max(0, Math.min(lateSendMaxMs, minIntervalMs - 2 * DATE_TOLERANCE_MS));
}

/** Whether a remote date falls on one of these times (within the tolerance). */
export function isDatedAtAny(item: StatsItem, times: readonly number[]): boolean {
  const remote = item.date === null ? NaN : Date.parse(item.date);
  return Number.isFinite(remote) && times.some((t) => Math.abs(remote - t) <= DATE_TOLERANCE_MS);
}

/** Whether a remote stats item could be the message this fingerprint describes. */
export function matchesFingerprint(item: StatsItem, fp: Fingerprint): boolean {
  if (textKey(item.text) !== fp.textKey) return false;
  if (Math.round((item.price ?? 0) * 100) !== fp.priceCents) return false;
  if (item.mediaCount !== null && item.mediaCount !== fp.mediaCount) return false;
  if (fp.scheduledAt !== null && item.date !== null) {
    const remote = Date.parse(item.date);
    if (Number.isFinite(remote) && Math.abs(remote - fp.scheduledAt) > DATE_TOLERANCE_MS) return false;
  }
  return true;
}

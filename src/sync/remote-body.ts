import type { Audience, Message } from '../campaigns/model.ts';
import type { MassMessageBody } from '../ofauth/schemas.ts';

/** OFAuth's examples write `2025-01-01T12:00:00Z`; its parser's tolerance for milliseconds is undocumented. */
export function toOfauthDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The full request body for a send: its campaign's message and audience, at `sendAt` (the send's
 * due time, or null), with the fan ids its chat filters resolved to. PUT is "replace" in OFAuth's SDK, so updates send this whole body too.
 * `sendAt` null means "send now", which OFAuth expresses by omitting the date.
 */
export function toMassMessageBody(campaign: { message: Message; audience: Audience }, sendAt: number | null, resolvedFanIds: readonly number[] = []): MassMessageBody {
  const { message: m, audience: a } = campaign;
  // A chat-filter audience goes as the fan ids it resolved to (stored on the send), with userIds.
  const userIds = resolvedFanIds.length === 0 ? a.userIds : [...new Set([...a.userIds, ...resolvedFanIds])];
  return {
    text: m.text,
    mediaItems: m.mediaItems,
    price: m.price,
    previewMediaCount: m.previewMediaCount,
    isLockedText: m.isLockedText,
    isMarkdown: m.isMarkdown,
    userTags: m.userTags,
    releaseForms: m.releaseForms,
    ...(userIds.length > 0 ? { userIds } : {}),
    ...(a.userLists.length > 0 ? { userLists: a.userLists } : {}),
    ...(a.excludeUserLists.length > 0 ? { excludeUserLists: a.excludeUserLists } : {}),
    ...(a.subscribedAfterDate ? { subscribedAfterDate: toOfauthDate(Date.parse(a.subscribedAfterDate)) } : {}),
    ...(sendAt !== null ? { scheduledDate: toOfauthDate(sendAt) } : {}),
  };
}

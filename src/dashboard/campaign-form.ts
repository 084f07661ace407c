import type { z } from 'zod';
import type { CampaignView } from '../campaigns/schemas.ts';
import type { FieldProblem } from '../errors.ts';
import { parseLocalDateTime, toLocalInput } from './time.ts';

/*
 * The new/edit form: its fields, what they become as the API's create or patch body, and where
 * the API's problems (paths like body/message/price) appear on it. Values are carried as the
 * marketer typed them, so a refused form comes back exactly as sent.
 */

export type ScheduleKind = 'now' | 'at' | 'series';

export interface CampaignForm {
  name: string;
  connectionId: string;
  text: string;
  mediaItems: string;
  price: string;
  previewMediaCount: string;
  isLockedText: boolean;
  userLists: string;
  excludeUserLists: string;
  userIds: string;
  /** The chat filters ticked (priority, unread, who_tipped), as posted. */
  chatFilters: string[];
  /** The one follow-up the form edits; all three empty: none. */
  followUpAfter: string;
  followUpText: string;
  followUpPrice: string;
  scheduleKind: ScheduleKind;
  scheduledAt: string;
  timeZone: string;
  cron: string;
  endsAt: string;
  maxOccurrences: string;
}

/** Field name (as in the HTML) → the form's key. */
export const FIELD_IDS: Record<keyof CampaignForm, string> = {
  name: 'f-name',
  connectionId: 'f-connection',
  text: 'f-text',
  mediaItems: 'f-media',
  price: 'f-price',
  previewMediaCount: 'f-preview',
  isLockedText: 'f-locked',
  userLists: 'f-lists',
  excludeUserLists: 'f-excluded',
  userIds: 'f-fans',
  chatFilters: 'f-chat',
  followUpAfter: 'f-fu-after',
  followUpText: 'f-fu-text',
  followUpPrice: 'f-fu-price',
  scheduleKind: 'f-kind-now',
  scheduledAt: 'f-at',
  timeZone: 'f-zone',
  cron: 'f-cron',
  endsAt: 'f-ends',
  maxOccurrences: 'f-max',
};

/** API body paths (their first segments) → the form field that shows the problem; the first match wins. */
const PATH_TO_FIELD: Array<[string, keyof CampaignForm]> = [
  ['body/name', 'name'],
  ['body/connectionId', 'connectionId'],
  ['body/message/text', 'text'],
  ['body/message/mediaItems', 'mediaItems'],
  ['body/message/price', 'price'],
  ['body/message/previewMediaCount', 'previewMediaCount'],
  ['body/message/isLockedText', 'isLockedText'],
  ['body/audience/userLists', 'userLists'],
  ['body/audience/excludeUserLists', 'excludeUserLists'],
  ['body/audience/userIds', 'userIds'],
  ['body/audience/chatFilters', 'chatFilters'],
  ['body/followUps/0/after', 'followUpAfter'],
  ['body/followUps/0/message/text', 'followUpText'],
  ['body/followUps/0/message/price', 'followUpPrice'],
  ['body/followUps', 'followUpAfter'],
  ['body/scheduledAt', 'scheduledAt'],
  ['body/recurrence/cron', 'cron'],
  ['body/recurrence/timezone', 'timeZone'],
  ['body/recurrence/endsAt', 'endsAt'],
  ['body/recurrence/maxOccurrences', 'maxOccurrences'],
  ['body/recurrence', 'cron'],
];

export interface FormErrors {
  byField: Partial<Record<keyof CampaignForm, string[]>>;
  /** Problems that name no field of the form (a conflict, say). */
  general: string[];
}

export const noErrors = (): FormErrors => ({ byField: {}, general: [] });

/** Places the API's problems next to the fields they name. */
export function placeProblems(problems: FieldProblem[], detail?: string): FormErrors {
  const errors = noErrors();
  for (const p of problems) {
    const match = PATH_TO_FIELD.find(([prefix]) => p.path === prefix || p.path.startsWith(`${prefix}/`));
    if (match) (errors.byField[match[1]] ??= []).push(p.message);
    else errors.general.push(`${p.path.replace(/^body\//, '')}: ${p.message}`);
  }
  if (problems.length === 0 && detail) errors.general.push(detail);
  return errors;
}

/** zod issues as the API's problems: paths under body/, as its validation errors name them. */
export function zodProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({ path: ['body', ...issue.path.map(String)].join('/'), message: issue.message }));
}

const str = (value: unknown): string => (typeof value === 'string' ? value : Array.isArray(value) ? String(value[0] ?? '') : '');
/** Checkboxes post one value each (a field, or an array of them); a text field posts one string. */
const strings = (value: unknown): string[] => ([] as unknown[]).concat(value ?? []).filter((v): v is string => typeof v === 'string');

/** The form as posted (urlencoded), every value kept as typed. */
export function readForm(body: unknown, defaultZone: string): CampaignForm {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const kind = str(b.scheduleKind);
  return {
    name: str(b.name),
    connectionId: str(b.connectionId).trim(),
    text: str(b.text),
    mediaItems: str(b.mediaItems),
    price: str(b.price),
    previewMediaCount: str(b.previewMediaCount),
    isLockedText: str(b.isLockedText) === 'on',
    // Ticked lists or a typed "1, 3": the same text either way.
    userLists: strings(b.userLists).join(', '),
    excludeUserLists: strings(b.excludeUserLists).join(', '),
    userIds: str(b.userIds),
    chatFilters: strings(b.chatFilters),
    followUpAfter: str(b.followUpAfter).trim(),
    followUpText: str(b.followUpText),
    followUpPrice: str(b.followUpPrice),
    scheduleKind: kind === 'at' || kind === 'series' ? kind : 'now',
    scheduledAt: str(b.scheduledAt),
    timeZone: str(b.timeZone) || defaultZone,
    cron: str(b.cron),
    endsAt: str(b.endsAt),
    maxOccurrences: str(b.maxOccurrences),
  };
}

export function emptyForm(zone: string, connectionId = ''): CampaignForm {
  return {
    name: '',
    connectionId,
    text: '',
    mediaItems: '',
    price: '0',
    previewMediaCount: '0',
    isLockedText: false,
    userLists: '',
    excludeUserLists: '',
    userIds: '',
    chatFilters: [],
    followUpAfter: '',
    followUpText: '',
    followUpPrice: '',
    scheduleKind: 'at',
    scheduledAt: '',
    timeZone: zone,
    cron: '',
    endsAt: '',
    maxOccurrences: '',
  };
}

/** The form edits one follow-up; a campaign given more through the API keeps them as they are. */
export const isFollowUpEditable = (campaign: CampaignView | null): boolean => (campaign?.followUps?.length ?? 0) <= 1;

/** A campaign as the form shows it for editing, times in `zone` (a series in its own). */
export function formOf(campaign: CampaignView, zone: string): CampaignForm {
  const seriesZone = campaign.recurrence?.timezone ?? zone;
  const at = campaign.scheduledAt === null ? null : Date.parse(campaign.scheduledAt);
  const followUp = isFollowUpEditable(campaign) ? campaign.followUps?.[0] : undefined;
  return {
    name: campaign.name,
    connectionId: campaign.connectionId,
    text: campaign.message.text,
    mediaItems: campaign.message.mediaItems.join(', '),
    price: String(campaign.message.price),
    previewMediaCount: String(campaign.message.previewMediaCount),
    isLockedText: campaign.message.isLockedText,
    userLists: campaign.audience.userLists.join(', '),
    excludeUserLists: campaign.audience.excludeUserLists.join(', '),
    userIds: campaign.audience.userIds.join(', '),
    chatFilters: campaign.audience.chatFilters ?? [],
    followUpAfter: followUp?.after ?? '',
    followUpText: followUp?.message.text ?? '',
    followUpPrice: followUp ? String(followUp.message.price) : '',
    scheduleKind: campaign.recurrence ? 'series' : at === null ? 'now' : 'at',
    scheduledAt: toLocalInput(at, seriesZone),
    timeZone: seriesZone,
    cron: campaign.recurrence?.cron ?? '',
    endsAt: toLocalInput(campaign.recurrence?.endsAt ? Date.parse(campaign.recurrence.endsAt) : null, seriesZone),
    maxOccurrences: campaign.recurrence?.maxOccurrences === null || !campaign.recurrence ? '' : String(campaign.recurrence.maxOccurrences),
  };
}

/** "1, 3 4" → ['1', '3', '4']; ids stay strings so the API's own schema judges (and names) them. */
const idList = (text: string) => text.split(/[\s,]+/).filter((s) => s.length > 0);
const mediaList = (text: string) => idList(text).map((s) => (/^[1-9]\d{0,15}$/.test(s) ? Number(s) : s));
/** A number field: empty is the default, anything else is passed on for the schema to judge. */
const numberOr = (text: string, fallback: number): unknown => (text.trim() === '' ? fallback : Number.isFinite(Number(text)) ? Number(text) : text);

/**
 * The API body the form stands for, or the problems of the fields only the form can judge
 * (a time that is not a time). Everything else is left to the API's schema and service.
 */
export function toBody(form: CampaignForm): { body: Record<string, unknown>; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const instant = (value: string, path: string, required: boolean): string | null => {
    if (value.trim() === '') {
      if (required) problems.push({ path, message: 'choose a date and time' });
      return null;
    }
    const ms = parseLocalDateTime(value, form.timeZone);
    if (ms === null) {
      problems.push({ path, message: 'expected a date and time' });
      return null;
    }
    return new Date(ms).toISOString();
  };
  const isSeries = form.scheduleKind === 'series';
  const scheduledAt = form.scheduleKind === 'now' ? null : instant(form.scheduledAt, 'body/scheduledAt', form.scheduleKind === 'at');
  const body: Record<string, unknown> = {
    name: form.name,
    connectionId: form.connectionId,
    message: {
      text: form.text,
      mediaItems: mediaList(form.mediaItems),
      price: numberOr(form.price, 0),
      previewMediaCount: numberOr(form.previewMediaCount, 0),
      isLockedText: form.isLockedText,
    },
    audience: { userIds: idList(form.userIds), userLists: idList(form.userLists), excludeUserLists: idList(form.excludeUserLists), chatFilters: form.chatFilters },
    scheduledAt,
    recurrence: isSeries
      ? {
          cron: form.cron,
          timezone: form.timeZone,
          endsAt: instant(form.endsAt, 'body/recurrence/endsAt', false),
          maxOccurrences: form.maxOccurrences.trim() === '' ? null : numberOr(form.maxOccurrences, 0),
        }
      : null,
    followUps: followUpsOf(form),
  };
  return { body, problems };
}

export const hasFollowUp = (form: CampaignForm): boolean => form.followUpAfter !== '' || form.followUpText.trim() !== '' || form.followUpPrice.trim() !== '';

/** The form's follow-up as the API's followUps: [] when its fields are empty (an empty price is free). */
function followUpsOf(form: CampaignForm): unknown[] {
  if (!hasFollowUp(form)) return [];
  return [{ after: form.followUpAfter, message: { text: form.followUpText, price: numberOr(form.followUpPrice, 0) }, audience: 'non_buyers' }];
}

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { TEST_ADMIN_TOKEN } from '../helpers/app.ts';
import { buildSyncHarness, type SyncHarness } from '../helpers/sync.ts';

/** The principal the services see for the test admin token, for reading back what a page saved. */
export const ADMIN_PRINCIPAL = { tokenId: 't', name: 'x', role: 'admin' as const, connectionIds: null };

/** A sync harness (simulator over loopback) with a browser signed in as the test admin. */
export async function signedInAdmin(options: Parameters<typeof buildSyncHarness>[0] = {}): Promise<{ h: SyncHarness; browser: DashboardClient }> {
  const h = await buildSyncHarness(options);
  const browser = new DashboardClient(h.app);
  await browser.signIn(TEST_ADMIN_TOKEN);
  return { h, browser };
}

/**
 * A browser's share of a dashboard conversation over app.inject: it keeps the session cookie
 * and the last page's CSRF token, and sends forms as a browser would (urlencoded).
 */
export class DashboardClient {
  cookie = '';
  csrf = '';

  constructor(readonly app: FastifyInstance) {}

  private remember(res: LightMyRequestResponse): LightMyRequestResponse {
    const setCookie = res.headers['set-cookie'];
    for (const line of ([] as string[]).concat(setCookie ?? [])) {
      const [pair] = line.split(';');
      if (pair!.startsWith('fanout_session=')) this.cookie = /Max-Age=0/i.test(line) ? '' : pair!;
    }
    const token = /name="_csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (token) this.csrf = token;
    return res;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.remember(await this.app.inject({ method: 'GET', url, headers: this.cookie ? { cookie: this.cookie } : {} }));
  }

  /** Posts a form; the page's CSRF token is added unless `_csrf` is given (null: left out). */
  async post(url: string, form: Record<string, string | string[] | null>): Promise<LightMyRequestResponse> {
    const body = new URLSearchParams();
    const fields = { _csrf: this.csrf, ...form };
    for (const [key, value] of Object.entries(fields)) {
      if (value === null) continue;
      for (const v of ([] as string[]).concat(value)) body.append(key, v);
    }
    return this.remember(
      await this.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(this.cookie ? { cookie: this.cookie } : {}) },
        payload: body.toString(),
      }),
    );
  }

  /** Signs in with a token secret through the sign-in form; fails on anything but the redirect. */
  async signIn(secret: string, timeZone = 'UTC'): Promise<void> {
    await this.get('/sign-in');
    const res = await this.post('/sign-in', { token: secret, timeZone, next: '/calendar' });
    if (res.statusCode !== 303) throw new Error(`sign-in failed: ${res.statusCode}`);
    await this.get('/calendar');
  }
}

/** A campaign form as a marketer fills it in: a one-shot at a local time. */
export function campaignForm(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    formKey: '3f0c1a52-6c1e-4d0f-9a53-0b7f8d1e2c44',
    name: 'Friday PPV drop',
    connectionId: 'conn_sandbox',
    text: 'New set drops tonight',
    mediaItems: '4211',
    price: '9.99',
    previewMediaCount: '1',
    userLists: '1, 3',
    excludeUserLists: '4',
    userIds: '',
    scheduleKind: 'at',
    scheduledAt: '2030-01-02T18:00',
    timeZone: 'Europe/Berlin',
    cron: '',
    endsAt: '',
    maxOccurrences: '',
    intent: 'scheduled',
    ...overrides,
  };
}

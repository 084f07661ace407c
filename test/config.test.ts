import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted a bad environment');
}

describe('loadConfig', () => {
  it('fills in the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databasePath: './data/fanout.db',
      logLevel: 'info',
      adminToken: null,
      mode: 'sandbox',
      ofauth: { apiKey: null, baseUrl: 'https://api.ofauth.com' },
    });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('treats empty values as unset, as a .env file with FOO= means', () => {
    expect(loadConfig({ PORT: '', OFAUTH_API_KEY: '', LOG_LEVEL: '' })).toMatchObject({ port: 3000, mode: 'sandbox', logLevel: 'info' });
  });

  it('runs in sandbox mode without OFAUTH_API_KEY and live mode with it', () => {
    expect(loadConfig({}).mode).toBe('sandbox');
    const live = loadConfig({ OFAUTH_API_KEY: 'key_live_abc' });
    expect(live.mode).toBe('live');
    expect(live.ofauth.apiKey).toBe('key_live_abc');
  });

  it('parses the values it is given', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_PATH: '/tmp/x.db',
      LOG_LEVEL: 'debug',
      ADMIN_TOKEN: 'a'.repeat(16),
      OFAUTH_BASE_URL: 'http://localhost:9999',
      OFAUTH_TIMEOUT: '30s',
    });
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      databasePath: '/tmp/x.db',
      logLevel: 'debug',
      adminToken: 'a'.repeat(16),
      ofauth: { baseUrl: 'http://localhost:9999', timeoutMs: 30_000 },
    });
  });

  it('names every bad variable in one error', () => {
    const error = configError({ PORT: 'abc', LOG_LEVEL: 'loud', OFAUTH_BASE_URL: 'ftp://x', SYNC_CRON: 'often' });
    expect(error.message).toMatch(/PORT/);
    expect(error.message).toMatch(/LOG_LEVEL/);
    expect(error.message).toMatch(/OFAUTH_BASE_URL/);
    expect(error.message).toMatch(/SYNC_CRON/);
    expect(error.problems).toHaveLength(4);
  });

  it.each([
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '3000.5'],
    ['OFAUTH_TIMEOUT', 'soon'],
    ['ADMIN_TOKEN', 'short'],
  ])('rejects %s=%s', (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });

  it('never echoes a secret value in the error', () => {
    const adminToken = 'tooshort-secret';
    const apiKey = 'ofauth-live-key-SECRET-123';
    const error = configError({ ADMIN_TOKEN: adminToken, OFAUTH_API_KEY: apiKey, PORT: apiKey, LOG_LEVEL: apiKey });
    expect(error.message).toContain('ADMIN_TOKEN');
    expect(error.message).not.toContain(adminToken);
    expect(error.message).not.toContain(apiKey);
    expect(JSON.stringify(error.problems)).not.toContain(apiKey);
  });

  describe('database', () => {
    it('uses the SQLite file at DATABASE_PATH unless DATABASE_URL is set', () => {
      expect(loadConfig({}).database).toEqual({ backend: 'sqlite', path: './data/fanout.db' });
      expect(loadConfig({ DATABASE_PATH: '/tmp/x.db' }).database).toEqual({ backend: 'sqlite', path: '/tmp/x.db' });
    });

    it('selects PostgreSQL with DATABASE_URL, with pool, statement timeout and TLS defaults', () => {
      const url = 'postgres://fanout:pw@db.internal:5432/fanout';
      expect(loadConfig({ DATABASE_URL: url, DATABASE_PATH: '/tmp/ignored.db' }).database).toEqual({ backend: 'postgres', url, poolSize: 10, statementTimeoutMs: 30_000, ssl: 'disable' });
      expect(loadConfig({ DATABASE_URL: 'postgresql://db/fanout', DATABASE_POOL_SIZE: '25', DATABASE_STATEMENT_TIMEOUT: '2m', DATABASE_SSL: 'verify-full' }).database).toEqual({
        backend: 'postgres',
        url: 'postgresql://db/fanout',
        poolSize: 25,
        statementTimeoutMs: 120_000,
        ssl: 'verify-full',
      });
      expect(loadConfig({ DATABASE_URL: url, DATABASE_STATEMENT_TIMEOUT: '0' }).database).toMatchObject({ statementTimeoutMs: 0 });
    });

    it.each([
      ['DATABASE_URL', 'mysql://u:pw@db/fanout'],
      ['DATABASE_URL', 'not a url'],
      ['DATABASE_URL', 'postgres://u:pw@db/fanout?sslmode=require'],
      ['DATABASE_POOL_SIZE', '0'],
      ['DATABASE_POOL_SIZE', 'many'],
      ['DATABASE_STATEMENT_TIMEOUT', 'forever'],
      ['DATABASE_SSL', 'yes'],
    ])('rejects %s=%s', (name, value) => {
      expect(configError({ DATABASE_URL: 'postgres://db/fanout', [name]: value }).message).toContain(name);
    });

    it("never echoes the URL's password in the error", () => {
      const password = 'S3cret-db-password';
      const error = configError({ DATABASE_URL: `mysql://fanout:${password}@db/fanout` });
      expect(error.message).toContain('DATABASE_URL');
      expect(error.message).not.toContain(password);
      expect(configError({ DATABASE_URL: `postgres://fanout:${password}@db/fanout?sslmode=require` }).message).not.toContain(password);
    });
  });

  it('takes a stable INSTANCE_ID, none by default, and refuses one with other characters', () => {
    expect(loadConfig({}).instanceId).toBeNull();
    expect(loadConfig({ INSTANCE_ID: 'web-1.eu:a_b' }).instanceId).toBe('web-1.eu:a_b');
    expect(configError({ INSTANCE_ID: 'web 1' }).problems).toEqual([expect.stringMatching(/^INSTANCE_ID: /)]);
    expect(configError({ INSTANCE_ID: 'x'.repeat(101) }).problems).toEqual([expect.stringMatching(/^INSTANCE_ID: /)]);
  });

  it('reads TEST_SEND_ALLOWLIST as fan ids (unset: any fan) and OFAUTH_UNSEND_WINDOW as a duration (24 h by default)', () => {
    expect(loadConfig({})).toMatchObject({ testSend: { allowlist: null }, ofauth: { unsendWindowMs: 86_400_000 } });
    expect(loadConfig({ TEST_SEND_ALLOWLIST: ' 101, 102,101 ', OFAUTH_UNSEND_WINDOW: '6h' })).toMatchObject({ testSend: { allowlist: [101, 102] }, ofauth: { unsendWindowMs: 21_600_000 } });
    const error = configError({ TEST_SEND_ALLOWLIST: '101,me', OFAUTH_UNSEND_WINDOW: 'later' });
    expect(error.problems.map((p) => p.split(':')[0])).toEqual(['OFAUTH_UNSEND_WINDOW', 'TEST_SEND_ALLOWLIST']);
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ PATH: '/usr/bin', UNRELATED: 'x' })).not.toThrow();
  });
});

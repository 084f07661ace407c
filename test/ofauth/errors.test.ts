import { describe, expect, test } from 'vitest';
import { OfauthError, classifyStatus, isOfauthError, parseErrorBody, redact } from '../../src/ofauth/errors.ts';
import { buildPath, endpointFamilies, parseEndpointFamily } from '../../src/ofauth/endpoints.ts';

describe('parseErrorBody: every documented shape', () => {
  test('format A', () => {
    expect(parseErrorBody(JSON.stringify({ error: 'expired', type: 'SESSION_EXPIRED', requestId: 'req_1', actionRequired: 'refresh_session' }))).toEqual({
      message: 'expired',
      code: 'SESSION_EXPIRED',
      requestId: 'req_1',
      actionRequired: 'refresh_session',
      details: null,
    });
  });

  test('format B', () => {
    expect(parseErrorBody(JSON.stringify({ error: 'bad key', code: 'AUTH_INVALID_KEY', details: { field: 'apiKey' } }))).toMatchObject({
      message: 'bad key',
      code: 'AUTH_INVALID_KEY',
      details: { field: 'apiKey' },
    });
  });

  test('SDK {message, code}, a nested error object, non-JSON and empty bodies', () => {
    expect(parseErrorBody('{"message":"nope","code":"X"}')).toMatchObject({ message: 'nope', code: 'X' });
    expect(parseErrorBody('{"error":{"message":"deep","type":"Y","requestId":"req_2"}}')).toMatchObject({ message: 'deep', code: 'Y', requestId: 'req_2' });
    expect(parseErrorBody('<html><body>\n<h1>502 Bad Gateway</h1></body></html>')).toMatchObject({ message: '<html><body> <h1>502 Bad Gateway</h1></body></html>', code: null });
    expect(parseErrorBody('')).toEqual({ message: null, code: null, requestId: null, actionRequired: null, details: null });
    expect(parseErrorBody('[1,2]')).toMatchObject({ message: '[1,2]', code: null });
  });
});

describe('classifyStatus', () => {
  test.each([
    [429, null, false, 'retryable'],
    [429, null, true, 'retryable'],
    [500, null, false, 'retryable'],
    [502, null, false, 'retryable'],
    [503, null, false, 'retryable'],
    [504, null, false, 'retryable'],
    [500, null, true, 'ambiguous'],
    [503, null, true, 'ambiguous'],
    [501, null, false, 'invalid'],
    [401, 'UNAUTHORIZED', false, 'auth'],
    [401, 'RULES_OUTDATED', false, 'retryable'],
    [403, 'FORBIDDEN', true, 'auth'],
    [400, 'BAD_REQUEST', true, 'invalid'],
    [404, null, false, 'invalid'],
    [422, null, false, 'invalid'],
  ] as const)('%i %s (may have committed: %s) → %s', (status, code, committed, kind) => {
    expect(classifyStatus(status, code, committed)).toBe(kind);
  });
});

test('isOfauthError and redact', () => {
  const error = new OfauthError({ kind: 'invalid', message: 'm', operation: 'getMassMessage' });
  expect(isOfauthError(error)).toBe(true);
  expect(isOfauthError(new Error('x'))).toBe(false);
  expect(error.with({ kind: 'ambiguous', attempts: 2 })).toMatchObject({ kind: 'ambiguous', attempts: 2, operation: 'getMassMessage' });
  expect(redact('key k3y and k3y', 'k3y')).toBe('key [redacted] and [redacted]');
});

test('endpoint map: both families cover every operation; OFAUTH_ENDPOINTS parsing', () => {
  expect(Object.keys(endpointFamilies.queue).sort()).toEqual(Object.keys(endpointFamilies['mass-messages']).sort());
  expect(endpointFamilies.queue.listMassMessages.route).toBe('/v2/access/messages/queue/stats');
  expect(endpointFamilies['mass-messages'].deleteMassMessage).toEqual({ method: 'DELETE', route: '/v2/access/mass-messages/{id}' });
  expect(buildPath('/v2/access/users/lists/{id}', { id: 'a b' })).toBe('/v2/access/users/lists/a%20b');
  expect(() => buildPath('/x/{id}')).toThrow();
  expect(parseEndpointFamily(undefined)).toBe('queue');
  expect(parseEndpointFamily('mass-messages')).toBe('mass-messages');
  expect(() => parseEndpointFamily('v3')).toThrow(/OFAUTH_ENDPOINTS/);
});

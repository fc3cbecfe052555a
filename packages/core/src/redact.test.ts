import { describe, expect, it } from 'vitest';
import { DEFAULT_REDACT_OPTIONS, InvalidOptionsError, isSecretKey, redact } from './index.ts';

describe('redact: secrets by key', () => {
  it.each([
    'password',
    'PASSWORD',
    'db_password',
    'secret',
    'clientSecret',
    'token',
    'accessToken',
    'refresh_tokens',
    'apiKey',
    'api_key',
    'x-api-key',
    'X-API-KEY',
    'APIKEY',
    'api key',
    'credential',
    'credentials',
    'awsCredentials',
    'authorization',
    'Authorization',
    'proxy-authorization',
    'private_key',
    'cookie',
    'pin',
    'cardPin',
    'otp',
    'sms_otp',
    'cvv',
    'passcode',
    'auth',
    'oauth',
    'bearer_token',
    'jwt',
    'privkey',
    'aws_access_key',
    'dsn',
    'connectionString',
  ])('treats %s as a secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
    expect(redact({ [key]: 'hunter2', other: 'kept' })).toEqual({ [key]: '[REDACTED]', other: 'kept' });
  });

  it.each([
    'max_tokens',
    'maxTokens',
    'promptTokens',
    'token_count',
    'username',
    'amount',
    'keyword',
    'author',
    'shipping',
    'pinned',
    'authorName',
  ])('keeps %s', (key) => {
    expect(isSecretKey(key)).toBe(false);
    expect(redact({ [key]: 42 })).toEqual({ [key]: 42 });
  });

  it('redacts at any depth, inside lists, and whatever the value type', () => {
    const out = redact({
      user: 'bob',
      request: { headers: { Authorization: 'Bearer abc', 'content-type': 'json' } },
      accounts: [{ iban: 'DE1', password: 1234 }, { secret: { nested: true } }],
      credentials: { user: 'u', pass: 'p' },
    });
    expect(out).toEqual({
      user: 'bob',
      request: { headers: { Authorization: '[REDACTED]', 'content-type': 'json' } },
      accounts: [{ iban: 'DE1', password: '[REDACTED]' }, { secret: '[REDACTED]' }],
      credentials: '[REDACTED]',
    });
    expect(JSON.stringify(out)).not.toMatch(/abc|1234|"p"/);
  });

  it('does not modify its input', () => {
    const input = { password: 'x', list: [1, 2] };
    redact(input);
    expect(input).toEqual({ password: 'x', list: [1, 2] });
  });

  it('takes extra secret keys and a replacement text', () => {
    const out = redact({ iban: 'DE89', ssn: '123', ok: 1 }, { secretKeys: ['IBAN', /^ss/], replacement: '***' });
    expect(out).toEqual({ iban: '***', ssn: '***', ok: 1 });
  });
});

describe('redact: size caps', () => {
  it('truncates long strings at the default cap, noting the original size', () => {
    const long = 'a'.repeat(5000);
    const out = redact({ body: long }) as { body: string };
    expect(out.body.startsWith('a'.repeat(DEFAULT_REDACT_OPTIONS.maxStringLength))).toBe(true);
    expect(out.body).toContain('[truncated, 5000 chars]');
    expect(out.body.length).toBeLessThan(1100);
  });

  it('never splits a surrogate pair when truncating', () => {
    const out = redact('😀'.repeat(10), { maxStringLength: 5 }) as string;
    expect(out.isWellFormed()).toBe(true);
    expect(out).toMatch(/^😀😀…\[truncated, 20 chars\]$/);
  });

  it('caps list length, object width and depth, with markers', () => {
    const out = redact(
      { list: Array.from({ length: 8 }, (_, i) => i), wide: { a: 1, b: 2, c: 3, d: 4 }, deep: { x: { y: { z: 1 } } } },
      { maxEntries: 3, maxDepth: 2 },
    );
    expect(out).toEqual({
      list: [0, 1, 2, '[truncated: 5 more items, 8 in all]'],
      wide: { a: 1, b: 2, c: 3, '[truncated]': '1 more keys, 4 in all' },
      deep: { x: '[truncated: depth limit]' },
    });
  });

  it('stops at the overall character budget', () => {
    const out = redact(
      Array.from({ length: 50 }, () => 'x'.repeat(100)),
      { maxTotalChars: 1000 },
    ) as string[];
    expect(out.filter((s) => s === '[omitted: size cap]').length).toBeGreaterThan(30);
    expect(JSON.stringify(out).length).toBeLessThan(3000);
  });
});

describe('redact: any value', () => {
  it('never throws and returns plain JSON data', () => {
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const throwing = {
      get boom() {
        throw new Error('getter');
      },
      fine: 1,
    };
    const out = redact({
      cyclic,
      throwing,
      big: 10n,
      when: new Date('2025-01-02T03:04:05.000Z'),
      fn: () => 1,
      nan: Number.NaN,
      undef: undefined,
      list: [undefined, 1],
      map: new Map([['token', 'x']]),
      err: new Error('bad'),
    });
    expect(out).toEqual({
      cyclic: { name: 'c', self: '[circular]' },
      throwing: { boom: '[unreadable]', fine: 1 },
      big: '10',
      when: '2025-01-02T03:04:05.000Z',
      fn: '[function]',
      nan: 'NaN',
      list: [null, 1],
      map: { token: '[REDACTED]' },
      err: { name: 'Error', message: 'bad' },
    });
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it('keeps a __proto__ key as data', () => {
    const input = JSON.parse('{"__proto__": {"password": "x"}, "a": 1}');
    const out = redact(input) as Record<string, unknown>;
    expect(JSON.stringify(out)).toBe('{"__proto__":{"password":"[REDACTED]"},"a":1}');
  });
});

describe('redact options', () => {
  it('rejects size options it cannot honour instead of silently using defaults', () => {
    for (const bad of [-1, 1.5, Number.NaN, '10']) {
      expect(() => redact({ a: 'x' }, { maxStringLength: bad as never }), String(bad)).toThrow(/non-negative integers/);
    }
    expect(redact({ a: 'xyz' }, { maxStringLength: 2 })).toEqual({ a: 'xy…[truncated, 3 chars]' });
  });
});

describe('redact options', () => {
  it('a rule that is not a function, or secretKeys that is not a list, is an error (it would hide every object)', () => {
    expect(() => redact({ a: 1 }, { isSecretKey: 'password' as never })).toThrow(InvalidOptionsError);
    expect(() => redact({ a: 1 }, { secretKeys: 'password' as never })).toThrow(InvalidOptionsError);
  });
});

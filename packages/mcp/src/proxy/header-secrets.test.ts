import { expect, it } from 'vitest';
import { redact, secretsOf } from './header-secrets.ts';

it('redacts header values, and the token inside a `Bearer <token>` value, wherever a log line quotes them', () => {
  const secrets = secretsOf({ Authorization: 'Bearer tok-0123456789', 'X-Api-Key': 'k3y-value', 'X-Team': 'ops' });

  const line = redact('401: token tok-0123456789 (from Bearer tok-0123456789) or k3y-value rejected for ops', secrets);

  expect(line).toBe('401: token [redacted] (from [redacted]) or [redacted] rejected for ops');
});

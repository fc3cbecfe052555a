import { canonicalJson, sha256Hex } from '@hexgate/core';
import { describe, expect, it } from 'vitest';
import { decisionEvent } from './__fixtures__/events.ts';
import { canonicalRecordJson, GENESIS_HASH, hashRecord } from './index.ts';
import { cleanText, decisionBody, sealRecord } from './record.ts';

describe('audit record hashing', () => {
  const body = decisionBody(
    decisionEvent({ args: { b: [1, { z: 1, a: 'x' }], a: 'é\u0000' }, tool: 'search', evaluationMs: 0.123456789 }),
  );
  const record = sealRecord(body, 'default', 1, GENESIS_HASH);

  it('hashes the canonical JSON of every field but the hash itself', () => {
    const { hash, ...rest } = record;
    expect(canonicalRecordJson(rest)).toBe(canonicalJson(rest));
    expect(hash).toBe(sha256Hex(canonicalJson(rest)));
    expect(hashRecord(rest)).toBe(hash);
  });

  it('changes the hash when any single field changes', () => {
    const { hash, ...rest } = record;
    const changed: Record<string, unknown> = {
      chain: 'other',
      seq: 2,
      prevHash: 'f'.repeat(64),
      tool: 'delete_all',
      outcome: 'deny',
      effective: 'deny',
      reason: 'edited',
      args: { b: [1] },
      userAttributes: null,
      roles: ['admin'],
      violations: ['x'],
      evaluationMs: 0.2,
      timestamp: '2000-01-01T00:00:00.000Z',
    };
    for (const [key, value] of Object.entries(changed)) {
      expect(hashRecord({ ...rest, [key]: value }), key).not.toBe(hash);
    }
  });

  it('survives a JSON round trip unchanged (what every store does)', () => {
    const back = JSON.parse(JSON.stringify(record));
    expect(hashRecord(back)).toBe(record.hash);
  });

  it('cleans text a database could not store as is', () => {
    expect(cleanText('a\u0000b')).toBe('a\uFFFDb');
    expect(cleanText('x\uD800y')).toBe('x\uFFFDy');
    expect(cleanText('😀')).toBe('😀');
    expect(body.evaluationMs).toBe(0.123457);
  });
});

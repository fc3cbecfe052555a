import { canonicalJson, sha256Hex } from '@hexgate/core';
import { describe, expect, it } from 'vitest';
import { decisionEvent } from './__fixtures__/events.ts';
import { canonicalRecordJson, GENESIS_HASH, hashRecord } from './index.ts';
import { cleanText, decisionBody, fieldJson, sealRecord } from './record.ts';

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

  it('encodes nested values exactly like core (key order, escapes, numbers, nesting)', () => {
    const samples: unknown[] = [
      null,
      0,
      -0,
      1e21,
      0.1 + 0.2,
      'q"\\\n\u0000\uD800😀',
      [],
      {},
      [1, [2, [3, { b: 1, a: 2 }]]],
      { z: 1, a: { y: [true, false, null], b: 'x' }, A: 0, é: 1, '10': 2, '9': 3, '': 4 },
      JSON.parse('{"__proto__": {"k": 1}, "b": 2}'),
    ];
    const { hash: _hash, ...rest } = record;
    for (const v of samples) {
      // Stored records come back as plain JSON data, not as the sealed objects.
      const stored = { ...rest, args: v, userAttributes: v };
      expect(canonicalRecordJson(stored)).toBe(canonicalJson(stored));
    }
  });

  it('keeps the canonical texts of structured fields for the stores', () => {
    expect(fieldJson(record, 'args')).toBe(canonicalJson(record.args));
    expect(fieldJson(record, 'roles')).toBe(canonicalJson(record.roles));
    expect(fieldJson({ ...record }, 'userAttributes')).toBe(canonicalJson(record.userAttributes));
  });

  it('hashes consistently whatever the key order of the arguments (integer-like keys, truncation markers)', () => {
    for (const args of [
      { b: 1, '10': 1, '9': 2, a: { '2': 0, x: 1 } },
      { z: 1, y: 2, x: 3, a: 4 },
      Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, i])),
    ]) {
      const sealed = sealRecord(decisionBody(decisionEvent({ args })), 'c', 1, GENESIS_HASH);
      const { hash, ...rest } = sealed;
      expect(hash).toBe(sha256Hex(canonicalJson(rest)));
      expect(hashRecord(JSON.parse(JSON.stringify(sealed)))).toBe(hash);
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

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HexgateError } from '@hexgate/core';
import { describe, expect, it } from 'vitest';
import { tempDir } from './__fixtures__/helpers.ts';
import { generateKeyPair, keyIdOf, loadPrivateKey, loadPublicKey } from './index.ts';

describe('generateKeyPair', () => {
  it('writes an Ed25519 pair with a private key file of mode 0600', async () => {
    const dir = tempDir();
    const pair = await generateKeyPair(join(dir, 'release'));
    expect(pair.privateKeyPath).toBe(join(dir, 'release.key'));
    expect(pair.publicKeyPath).toBe(join(dir, 'release.pub'));
    if (process.platform !== 'win32') expect(statSync(pair.privateKeyPath).mode & 0o777).toBe(0o600);
    const priv = loadPrivateKey(pair.privateKeyPath);
    const pub = loadPublicKey(pair.publicKeyPath);
    expect(priv.asymmetricKeyType).toBe('ed25519');
    expect(keyIdOf(pub)).toBe(pair.keyId);
    expect(keyIdOf(priv)).toBe(pair.keyId);
    expect(pair.keyId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('never overwrites an existing key without force', async () => {
    const dir = tempDir();
    const first = await generateKeyPair(join(dir, 'k'));
    const before = readFileSync(first.privateKeyPath, 'utf8');
    await expect(generateKeyPair(join(dir, 'k'))).rejects.toThrow(/already exists.*force/);
    expect(readFileSync(first.privateKeyPath, 'utf8')).toBe(before);

    const second = await generateKeyPair(join(dir, 'k'), { force: true });
    expect(second.keyId).not.toBe(first.keyId);
    expect(readFileSync(second.privateKeyPath, 'utf8')).not.toBe(before);
    if (process.platform !== 'win32') expect(statSync(second.privateKeyPath).mode & 0o777).toBe(0o600);
  });

  it('refuses keys that are not Ed25519', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const err = (() => {
      try {
        loadPublicKey(rsa.publicKey);
      } catch (e) {
        return e;
      }
    })();
    expect(HexgateError.isInstance(err) && err.code).toBe('INVALID_OPTIONS');
    expect(() => loadPrivateKey(rsa.privateKey)).toThrow(/Ed25519/);
    expect(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n')).toThrow(/PEM/);
  });
});

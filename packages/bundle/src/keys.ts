/**
 * Ed25519 keys with Node's built-in crypto (no dependency): PEM files,
 * PKCS#8 for the private key (mode 0600), SPKI for the public key. The key id
 * is a short fingerprint of the public key, written into manifests so an
 * operator can see which key signed a bundle; trust comes only from verifying
 * the signature with a configured public key, never from the id.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidOptionsError } from '@hexgate/core';

/** A key given as a file path, a PEM string, or a `KeyObject`. */
export type KeyInput = string | KeyObject;

export interface GeneratedKeyPair {
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly keyId: string;
}

/**
 * Writes `<prefix>.key` (private, mode 0600) and `<prefix>.pub` (public).
 * Refuses to overwrite either file unless `force` is set: silently replacing a
 * signing key would orphan every consumer that trusts the old public key.
 */
export async function generateKeyPair(prefix: string, options: { force?: boolean } = {}): Promise<GeneratedKeyPair> {
  const privateKeyPath = resolve(`${prefix}.key`);
  const publicKeyPath = resolve(`${prefix}.pub`);
  if (!options.force) {
    for (const p of [privateKeyPath, publicKeyPath]) {
      if (existsSync(p)) throw new InvalidOptionsError(`${p} already exists; pass force to overwrite it`);
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  await writeAtomically(privateKeyPath, privatePem, 0o600);
  await writeAtomically(publicKeyPath, publicPem, 0o644);
  return { privateKeyPath, publicKeyPath, keyId: keyIdOf(publicKey) };
}

/** Writes through a temp file created with `mode` (so the secret is never briefly world-readable), then renames. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${dirname(path)}/.${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, text, { mode, flag: 'wx' });
    // The umask can only remove bits; chmod makes the mode exact.
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

function pemText(input: string, what: string): string {
  if (input.includes('-----BEGIN')) return input;
  try {
    return readFileSync(input, 'utf8');
  } catch (e) {
    throw new InvalidOptionsError(`cannot read the ${what} ${input}: ${(e as Error).message}`);
  }
}

/** Loads an Ed25519 private key (path, PEM or KeyObject). */
export function loadPrivateKey(input: KeyInput): KeyObject {
  let key: KeyObject;
  try {
    key = typeof input === 'string' ? createPrivateKey(pemText(input, 'private key')) : input;
  } catch (e) {
    if (e instanceof InvalidOptionsError) throw e;
    throw new InvalidOptionsError(`not a PEM private key: ${(e as Error).message}`);
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519')
    throw new InvalidOptionsError('the signing key must be an Ed25519 private key (hexgate policy keygen)');
  return key;
}

/** Loads an Ed25519 public key (path, PEM or KeyObject). A private key is accepted and its public half used. */
export function loadPublicKey(input: KeyInput): KeyObject {
  let key: KeyObject;
  try {
    key = typeof input === 'string' ? createPublicKey(pemText(input, 'public key')) : input;
  } catch (e) {
    if (e instanceof InvalidOptionsError) throw e;
    throw new InvalidOptionsError(`not a PEM public key: ${(e as Error).message}`);
  }
  if (key.type === 'private') key = createPublicKey(key);
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519')
    throw new InvalidOptionsError('the trusted key must be an Ed25519 public key (hexgate policy keygen)');
  return key;
}

/** First 16 bytes (hex) of the sha256 of the public key's SPKI DER encoding. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 32);
}

export function signBytes(bytes: Uint8Array, privateKey: KeyObject): Buffer {
  return sign(null, bytes, privateKey);
}

/** The first trusted key whose signature check passes, or undefined. Never throws. */
export function verifyingKey(
  bytes: Uint8Array,
  signature: Uint8Array,
  keys: readonly KeyObject[],
): KeyObject | undefined {
  for (const key of keys) {
    try {
      if (verify(null, bytes, key, signature)) return key;
    } catch {
      // A malformed signature is just "not verified".
    }
  }
  return undefined;
}

/** Normalizes the `publicKey` option (one key or several, for rotation). */
export function trustedKeys(input: KeyInput | readonly KeyInput[] | undefined): KeyObject[] {
  if (input === undefined) return [];
  const list = Array.isArray(input) ? (input as readonly KeyInput[]) : [input as KeyInput];
  // An empty list would otherwise mean "no key": no signature checked and unsigned bundles
  // accepted. `publicKey: config.trustedKeys` with an empty list is a mistake, not a choice
  // (leave `publicKey` out to run without verification).
  if (list.length === 0)
    throw new InvalidOptionsError('publicKey is an empty list: give at least one trusted key, or leave it out');
  return list.map(loadPublicKey);
}

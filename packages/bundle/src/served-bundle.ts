/**
 * The HTTP form of a bundle: one JSON document, so a client gets a
 * consistent snapshot in one request and an unchanged policy costs one 304.
 *
 *   { "format": "hexgate-bundle/1",
 *     "manifest": "<base64 of manifest.json bytes>",
 *     "signature": "<base64 Ed25519 signature>" | null,
 *     "files": { "policy/<name>.yaml": "<base64 bytes>", ... } }
 *
 * The manifest travels as base64 of its exact bytes, so the client verifies
 * the signature on the same bytes the builder signed, before parsing them.
 * The strong ETag is derived from the document bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { canonicalJson } from '@hexgate/core';
import { MANIFEST_FORMAT } from './manifest.ts';
import { type BundleContents, sha256 } from './open-bundle.ts';
import { type BundleProblem, BundleVerificationError, problem } from './problems.ts';
import { readBundleDir } from './read-bundle-dir.ts';

export const SERVED_CONTENT_TYPE = 'application/vnd.hexgate.bundle+json';

export interface ServedBundle {
  /** The JSON document bytes. */
  readonly body: Buffer;
  /** A strong ETag (quoted). */
  readonly etag: string;
}

/** Reads a bundle directory into its served document (no verification: clients verify). */
export async function readServedBundle(dir: string): Promise<ServedBundle> {
  const c = await readBundleDir(dir);
  if (!c.manifestBytes)
    throw new BundleVerificationError(dir, [problem('manifest-missing', `${dir} holds no manifest.json`)]);
  const doc = {
    format: MANIFEST_FORMAT,
    manifest: c.manifestBytes.toString('base64'),
    signature: c.signatureText === undefined ? null : c.signatureText.trim(),
    files: Object.fromEntries([...c.files].map(([path, bytes]) => [path, bytes.toString('base64')])),
  };
  const body = Buffer.from(canonicalJson(doc), 'utf8');
  return { body, etag: `"${sha256(body).slice(0, 32)}"` };
}

/**
 * A `node:http` request handler serving the bundle in `dir`, re-read on every
 * request (so rebuilding the bundle in place is picked up), with ETag /
 * If-None-Match. Good for tests and small deployments; any static server or
 * CDN serving the same bytes with an ETag works as well.
 */
export function createBundleHandler(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    readServedBundle(dir).then(
      (served) => respondWithBundle(req, res, served),
      () => res.writeHead(503, { 'content-type': 'text/plain' }).end('bundle unavailable\n'),
    );
  };
}

/** Writes a served bundle as the response, answering 304 when the client already has it. */
export function respondWithBundle(req: IncomingMessage, res: ServerResponse, served: ServedBundle): void {
  if (etagMatches(req.headers['if-none-match'], served.etag)) {
    res.writeHead(304, { etag: served.etag, 'cache-control': 'no-cache' }).end();
    return;
  }
  res.writeHead(200, {
    'content-type': SERVED_CONTENT_TYPE,
    'content-length': served.body.length,
    etag: served.etag,
    'cache-control': 'no-cache',
  });
  res.end(req.method === 'HEAD' ? undefined : served.body);
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses a served document into bundle contents, or says what is wrong with it. */
export function parseServedDocument(bytes: Uint8Array): BundleContents | { readonly problems: BundleProblem[] } {
  const bad = (message: string) => ({ problems: [problem('document-invalid', message)] });
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return bad(`the served bundle is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad('the served bundle is not an object');
  const d = doc as Record<string, unknown>;
  const unknown = Object.keys(d).filter((k) => !['format', 'manifest', 'signature', 'files'].includes(k));
  if (unknown.length > 0) return bad(`unknown fields in the served bundle: ${unknown.join(', ')}`);
  if (d.format !== MANIFEST_FORMAT) return bad(`unsupported served bundle format ${JSON.stringify(d.format)}`);
  if (typeof d.manifest !== 'string' || !B64.test(d.manifest)) return bad('manifest must be a base64 string');
  if (d.signature !== null && (typeof d.signature !== 'string' || !B64.test(d.signature)))
    return bad('signature must be a base64 string or null');
  if (typeof d.files !== 'object' || d.files === null || Array.isArray(d.files))
    return bad('files must be an object of path -> base64');
  const files = new Map<string, Buffer>();
  for (const [path, data] of Object.entries(d.files as Record<string, unknown>)) {
    if (typeof data !== 'string' || !B64.test(data)) return bad(`files["${path}"] must be a base64 string`);
    files.set(path, Buffer.from(data, 'base64'));
  }
  return {
    manifestBytes: Buffer.from(d.manifest, 'base64'),
    signatureText: d.signature === null ? undefined : (d.signature as string),
    files,
    readProblems: [],
  };
}

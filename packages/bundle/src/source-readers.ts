/**
 * How each kind of policy source fetches a snapshot. A reader returns the
 * raw content plus a fingerprint (so an unchanged policy is recognised
 * without re-parsing) and an `open()` that verifies and builds it. Readers
 * never touch the policy in force; the source decides what to swap.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { buildPolicyFromFiles, type Policy, type PolicyFiles, PolicyLoadError, readPolicyFiles } from '@hexgate/core';
import type { BundleManifest } from './manifest.ts';
import { type BundleContents, openBundle, sha256, type TrustSettings } from './open-bundle.ts';
import { contentsKey, fingerprint, readBundleDir } from './read-bundle-dir.ts';
import { parseServedDocument } from './served-bundle.ts';
import { bundleFailure, PolicySourceError } from './source-error.ts';
import { readStable } from './stable-read.ts';

export interface Candidate {
  readonly policy: Policy;
  readonly bundle?: {
    readonly manifest: BundleManifest;
    readonly manifestSha256: string;
    readonly signatureVerified: boolean;
  };
}

export type ReadResult =
  | { readonly type: 'not-modified' }
  | {
      readonly type: 'content';
      /** Fingerprint of the raw content. */
      readonly key: string;
      readonly etag?: string;
      /** Verifies and builds the content. Throws `PolicySourceError`. */
      open(trust: TrustSettings): Candidate;
    };

export interface ReadContext {
  readonly signal: AbortSignal;
  /** The ETag of the content in force (HTTP). */
  readonly etag: string | undefined;
}

export interface Reader {
  read(ctx: ReadContext): Promise<ReadResult>;
}

function readFailure(location: string, e: unknown): PolicySourceError {
  if (e instanceof PolicySourceError) return e;
  if (PolicyLoadError.isInstance(e)) return new PolicySourceError('read', e.message, { issues: e.issues, cause: e });
  return new PolicySourceError('read', `cannot read ${location}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

/**
 * Refuses anything but regular files where core's `readPolicyFiles` would
 * `readFile` (the policy file, or a directory's `*.yaml` entries; symlinks are
 * followed, as ConfigMap volumes need): reading a FIFO blocks until a writer
 * appears, which hung the refresh chain and `close()` for good. A FIFO swapped
 * in between this check and the read can still block; that needs core's reader.
 */
async function regularFilesOnly(path: string, kind: 'file' | 'directory'): Promise<void> {
  const names = kind === 'file' ? [''] : (await readdir(path)).filter((n) => n.endsWith('.yaml') && !n.startsWith('.'));
  for (const name of names) {
    const file = name ? join(path, name) : path;
    const info = await stat(file).catch(() => undefined); // missing: core reports it
    if (info && !info.isFile() && !(kind === 'file' && info.isDirectory()))
      throw new PolicySourceError('read', `${file} is not a regular file; refusing to read it`);
  }
}

/** A YAML policy file or directory. */
export function yamlReader(path: string, kind: 'file' | 'directory', settleMs: number): Reader {
  const keyOf = (r: PolicyFiles) => `${r.kind}:${fingerprint(new Map(r.files.map((f) => [f.name, f.bytes] as const)))}`;
  return {
    async read(ctx) {
      let stable: { value: PolicyFiles; key: string };
      try {
        const read = async () => {
          await regularFilesOnly(path, kind);
          return readPolicyFiles(path);
        };
        stable = await readStable(read, keyOf, { settleMs, signal: ctx.signal });
      } catch (e) {
        throw readFailure(path, e);
      }
      const files = stable.value;
      if (files.kind !== kind)
        throw new PolicySourceError('read', `${path} was a policy ${kind} and is now a ${files.kind}; refusing it`);
      return {
        type: 'content',
        key: stable.key,
        open() {
          try {
            return { policy: buildPolicyFromFiles(files, path) };
          } catch (e) {
            if (PolicyLoadError.isInstance(e))
              throw new PolicySourceError('policy-invalid', e.message, { issues: e.issues, cause: e });
            throw e;
          }
        },
      };
    },
  };
}

function openContents(contents: BundleContents, trust: TrustSettings, location: string): Candidate {
  const opened = openBundle(contents, trust, location);
  if (!opened.ok || !opened.policy || !opened.manifest || !opened.manifestSha256)
    throw bundleFailure(location, opened.problems);
  return {
    policy: opened.policy,
    bundle: {
      manifest: opened.manifest,
      manifestSha256: opened.manifestSha256,
      signatureVerified: opened.signatureVerified,
    },
  };
}

/** A bundle directory on disk. */
export function bundleDirReader(dir: string, settleMs: number, maxBytes: number): Reader {
  return {
    async read(ctx) {
      let stable: { value: BundleContents; key: string };
      try {
        stable = await readStable(() => readBundleDir(dir, maxBytes), contentsKey, { settleMs, signal: ctx.signal });
      } catch (e) {
        throw readFailure(dir, e);
      }
      return { type: 'content', key: stable.key, open: (trust) => openContents(stable.value, trust, dir) };
    },
  };
}

export interface HttpReaderOptions {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Whether plain http to a non-loopback host is acceptable (only when signatures are verified). */
  readonly plainHttpOk: boolean;
}

/** The hosts where plain http cannot be read or rewritten on the way. */
export function isLoopbackHost(hostname: string): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/**
 * fetch with redirects followed by hand. fetch's own `follow` forwards every
 * configured header except `authorization` to any host a redirect names (an
 * `x-api-key` would leak), and happily follows https -> http or to a plain
 * http host that start-up would have refused. Here: configured headers stay
 * with the origin they were configured for, https never downgrades, and each
 * hop meets the same plain-http rule as the configured URL.
 */
async function fetchFollowing(
  url: string,
  headers: Record<string, string>,
  conditional: Record<string, string>,
  signal: AbortSignal,
  plainHttpOk: boolean,
): Promise<Response> {
  let current = new URL(url);
  let sent = { ...headers, ...conditional };
  for (let hop = 0; ; hop++) {
    const res = await fetch(current, { headers: sent, signal, cache: 'no-store', redirect: 'manual' });
    const location = res.headers.get('location');
    if (!REDIRECTS.has(res.status) || location === null) return res;
    await res.body?.cancel();
    const refuse = (why: string) => new PolicySourceError('http-status', `${url} redirected to ${location}: ${why}`);
    if (hop >= MAX_REDIRECTS) throw refuse(`too many redirects (more than ${MAX_REDIRECTS})`);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw refuse('not a valid URL');
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw refuse('only http(s) is followed');
    if (current.protocol === 'https:' && next.protocol === 'http:')
      throw refuse('refusing to downgrade https to plain http');
    if (next.protocol === 'http:' && !plainHttpOk && !isLoopbackHost(next.hostname))
      throw refuse('refusing to fetch an unsigned policy over plain http from another host');
    // Credentials and other configured headers belong to the configured origin only.
    if (next.origin !== current.origin) sent = { accept: 'application/json', ...conditional };
    current = next;
  }
}

/** A served bundle document (see served-bundle.ts), fetched with If-None-Match. */
export function httpReader(url: string, options: HttpReaderOptions): Reader {
  return {
    async read(ctx) {
      const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
      const conditional: Record<string, string> = ctx.etag ? { 'if-none-match': ctx.etag } : {};
      let res: Response;
      let body: Buffer;
      try {
        res = await fetchFollowing(
          url,
          headers,
          conditional,
          AbortSignal.any([ctx.signal, AbortSignal.timeout(options.timeoutMs)]),
          options.plainHttpOk,
        );
        if (res.status === 304) {
          await res.body?.cancel();
          // Only an answer to our If-None-Match can mean "what you have is current".
          if (!ctx.etag)
            throw new PolicySourceError('http-status', `${url} answered 304 to a request without If-None-Match`);
          return { type: 'not-modified' };
        }
        if (res.status !== 200) {
          await res.body?.cancel();
          throw new PolicySourceError('http-status', `${url} answered HTTP ${res.status}`);
        }
        const length = Number(res.headers.get('content-length') ?? '0');
        if (length > options.maxBytes) {
          await res.body?.cancel();
          throw new PolicySourceError(
            'http-status',
            `${url} sent ${length} bytes, more than maxBytes ${options.maxBytes}`,
          );
        }
        body = await readLimited(res, options.maxBytes, url);
      } catch (e) {
        if (e instanceof PolicySourceError) throw e;
        const cause = (e as Error & { cause?: Error })?.cause;
        const detail = cause?.message ? `${(e as Error).message} (${cause.message})` : (e as Error)?.message;
        throw new PolicySourceError('network', `cannot fetch ${url}: ${detail ?? String(e)}`, { cause: e });
      }
      const etag = res.headers.get('etag') ?? undefined;
      return {
        type: 'content',
        key: sha256(body),
        ...(etag ? { etag } : {}),
        open(trust) {
          const parsed = parseServedDocument(body);
          if ('problems' in parsed) throw bundleFailure(url, parsed.problems);
          return openContents(parsed, trust, url);
        },
      };
    },
  };
}

async function readLimited(res: Response, maxBytes: number, url: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const chunk of res.body) {
    total += chunk.length;
    if (total > maxBytes) {
      throw new PolicySourceError('http-status', `${url} sent more than maxBytes ${maxBytes}`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

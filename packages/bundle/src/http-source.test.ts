import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createEnforcer, type Decision } from '@hexgate/core';
import { describe, expect, it } from 'vitest';
import {
  errorWith,
  isError,
  isLoaded,
  keys,
  nextEvent,
  onCleanup,
  refund,
  refundPolicy,
  tempDir,
  track,
  waitFor,
  writePolicy,
} from './__fixtures__/helpers.ts';
import {
  buildBundle,
  createBundleHandler,
  createPolicySource,
  readServedBundle,
  respondWithBundle,
  type ServedBundle,
  watchPolicy,
} from './index.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local bundle server on 127.0.0.1 whose handler can be swapped, recording every response status. */
async function startServer(initial: Handler) {
  let handler = initial;
  const log: { status: number; ifNoneMatch: string | undefined }[] = [];
  const server = createServer((req, res) => {
    res.on('finish', () => log.push({ status: res.statusCode, ifNoneMatch: req.headers['if-none-match'] }));
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const stop = async () => {
    if (!server.listening) return;
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  };
  onCleanup(stop);
  return {
    url: `http://127.0.0.1:${port}/policy`,
    log,
    setHandler(h: Handler) {
      handler = h;
    },
    stop,
    async restart() {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
  };
}

const serveDoc =
  (doc: ServedBundle): Handler =>
  (req, res) =>
    respondWithBundle(req, res, doc);

async function signedBundles() {
  const dir = tempDir();
  const k = await keys(dir);
  const policyFile = join(dir, 'support.yaml');
  const out = join(dir, 'bundle');
  const build = async (limit: number | undefined) => {
    writePolicy(dir, refundPolicy(limit), 'support.yaml');
    return buildBundle(policyFile, { outDir: out, signKey: k.privateKeyPath });
  };
  await build(undefined);
  return { dir, k, out, build };
}

describe('HTTP sources', () => {
  it('picks up a served bundle that changes under a running agent loop', async () => {
    const { k, out, build } = await signedBundles();
    const server = await startServer(createBundleHandler(out));
    const source = track(watchPolicy(server.url, { publicKey: k.publicKeyPath, intervalMs: 10 }));
    const v1 = await source.ready();
    const enforcer = createEnforcer({ policy: source });

    const decisions: Decision[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        decisions.push(enforcer.decide(refund(50)).decision);
        await new Promise((r) => setImmediate(r));
      }
    })();
    await waitFor(() => decisions.length >= 20, 'the loop to run on revision 1');

    const loaded = nextEvent(source, isLoaded, 'revision 2 over HTTP');
    await build(100);
    const v2 = await loaded;
    const seenAt = decisions.length;
    await waitFor(() => decisions.length >= seenAt + 20, 'the loop to run on revision 2');
    stop = true;
    await loop;

    expect(v2.revision).toBe(2);
    expect(v2.previousDigest).toBe(v1.policyDigest);
    // Every decision ran on exactly one of the two policies, with the outcome of that policy,
    // and once the new policy was used the old one never came back.
    const digests = decisions.map((d) => d.policyDigest);
    const firstNew = digests.indexOf(v2.policyDigest);
    expect(firstNew).toBeGreaterThan(0);
    expect(digests.slice(0, firstNew).every((d) => d === v1.policyDigest)).toBe(true);
    expect(digests.slice(firstNew).every((d) => d === v2.policyDigest)).toBe(true);
    for (const d of decisions) expect(d.outcome).toBe(d.policyDigest === v2.policyDigest ? 'allow' : 'deny');
  });

  it('costs one 304 per poll while the policy is unchanged', async () => {
    const { k, out } = await signedBundles();
    const server = await startServer(createBundleHandler(out));
    const source = track(watchPolicy(server.url, { publicKey: k.publicKeyPath, intervalMs: 5 }));
    await source.ready();
    await waitFor(() => server.log.filter((r) => r.status === 304).length >= 3, 'three 304 answers');
    expect(server.log.filter((r) => r.status === 200)).toHaveLength(1);
    const { etag } = await readServedBundle(out);
    expect(server.log[0]).toEqual({ status: 200, ifNoneMatch: undefined });
    for (const r of server.log.slice(1)) expect(r).toEqual({ status: 304, ifNoneMatch: etag });
    expect(source.status()).toMatchObject({ usable: true, revision: 1, lastError: undefined });
  });

  it('refuses a replayed older revision and a tampered document, keeping the policy in force', async () => {
    const { k, out, build } = await signedBundles();
    const rev1 = await readServedBundle(out);
    await build(100);
    const rev2 = await readServedBundle(out);
    const server = await startServer(serveDoc(rev2));
    const source = track(watchPolicy(server.url, { publicKey: k.publicKeyPath, intervalMs: 5 }));
    expect(await source.ready()).toMatchObject({ revision: 2 });
    const enforcer = createEnforcer({ policy: source });

    let failed = nextEvent(source, errorWith('rollback'), 'the replayed revision 1');
    server.setHandler(serveDoc(rev1));
    expect((await failed).error.message).toMatch(/revision 1 is older than revision 2/);
    expect(enforcer.decide(refund(50)).decision.outcome).toBe('allow');

    const doc = JSON.parse(rev2.body.toString('utf8'));
    doc.files['policy/policy.yaml'] = Buffer.from(refundPolicy(1_000_000)).toString('base64');
    const body = Buffer.from(JSON.stringify(doc));
    failed = nextEvent(source, errorWith('bundle-invalid'), 'the tampered document');
    server.setHandler(serveDoc({ body, etag: '"tampered"' }));
    expect((await failed).error.problems.map((p) => p.code)).toEqual(['file-hash-mismatch']);
    expect(enforcer.decide(refund(5000)).decision.outcome).toBe('deny');
    expect(source.status()).toMatchObject({ revision: 2, usable: true, lastError: { code: 'bundle-invalid' } });

    failed = nextEvent(source, errorWith('http-status'), 'a server error');
    server.setHandler((_req, res) => res.writeHead(500).end());
    expect((await failed).error.message).toMatch(/HTTP 500/);
    expect(source.status().revision).toBe(2);
  });

  it('keeps the last good policy when the server goes away, then fails closed after maxStaleness', async () => {
    const { k, out } = await signedBundles();
    const server = await startServer(createBundleHandler(out));
    const source = track(watchPolicy(server.url, { publicKey: k.publicKeyPath, intervalMs: 10, maxStaleness: 200 }));
    const good = await source.ready();
    const enforcer = createEnforcer({ policy: source });

    const failed = nextEvent(source, errorWith('network'), 'a network error');
    await server.stop();
    const e = await failed;
    expect(e.policyInForce).toBe(true);
    expect(source.status()).toMatchObject({ policyDigest: good.policyDigest, lastError: { code: 'network' } });

    await waitFor(() => 'error' in source.currentPolicy(), 'the policy to go stale');
    const d = enforcer.decide(refund(1)).decision;
    expect(d.outcome).toBe('deny');
    expect(d.reason).toMatch(/has not been confirmed since/);
    expect(source.status()).toMatchObject({ stale: true, usable: false });

    // The server comes back with the same bundle: a 304 confirms the policy in force again.
    await server.restart();
    await waitFor(() => source.status().usable, 'the source to recover');
    expect(enforcer.decide(refund(1)).decision.policyDigest).toBe(good.policyDigest);
  });

  it('denies everything when the first document is unsigned but a key is trusted', async () => {
    const dir = tempDir();
    const k = await keys(dir);
    const out = join(dir, 'unsigned');
    await buildBundle(writePolicy(dir, refundPolicy(100)), { outDir: out });
    const server = await startServer(createBundleHandler(out));
    const source = track(createPolicySource(server.url, { publicKey: k.publicKeyPath }));
    const err = await source.ready().catch((x) => x);
    expect(err).toMatchObject({ code: 'bundle-invalid' });
    expect(err.problems.map((p: { code: string }) => p.code)).toEqual(['unsigned']);
    expect(createEnforcer({ policy: source }).decide(refund(1)).decision.reason).toMatch(/not signed/);
  });

  it('reports an error event for a server that never answered', async () => {
    const { k, out } = await signedBundles();
    const server = await startServer(createBundleHandler(out));
    await server.stop();
    const source = track(watchPolicy(server.url, { publicKey: k.publicKeyPath, intervalMs: 10 }));
    const e = await nextEvent(source, isError, 'a connection error');
    expect(e).toMatchObject({ policyInForce: false, error: { code: 'network' } });
    expect('error' in source.currentPolicy()).toBe(true);
  });

  it('sends configured headers and refuses a document larger than maxBytes', async () => {
    const { k, out } = await signedBundles();
    const served = await readServedBundle(out);
    const seen: (string | undefined)[] = [];
    const server = await startServer((req, res) => {
      seen.push(req.headers.authorization);
      respondWithBundle(req, res, served);
    });
    const ok = track(
      createPolicySource(server.url, { publicKey: k.publicKeyPath, headers: { authorization: 'Bearer t0ken' } }),
    );
    await ok.ready();
    expect(seen).toEqual(['Bearer t0ken']);

    const small = track(createPolicySource(server.url, { publicKey: k.publicKeyPath, maxBytes: 64 }));
    await expect(small.ready()).rejects.toMatchObject({ code: 'http-status', message: /more than maxBytes 64/ });
  });

  it('the bundle handler answers 405 to writes and 503 when the directory holds no bundle', async () => {
    const dir = tempDir();
    const server = await startServer(createBundleHandler(dir));
    expect((await fetch(server.url)).status).toBe(503);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
  });

  it('refuses unsigned policies over plain http to a non-loopback host', () => {
    expect(() => createPolicySource('http://policies.example.com/p', { requireSignature: false })).toThrow(
      /plain http/,
    );
    expect(() => createPolicySource('ftp://x/p')).toThrow(/unsupported/);
  });
});

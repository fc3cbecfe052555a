/**
 * Red-team regressions: each test is an attack (or a careless use) that once
 * got an unverified, older or unconfirmed policy into force, leaked a
 * secret, or could take the host process down. They go through the public API.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createEnforcer, HexgateError } from '@hexgate/core';
import { describe, expect, it, vi } from 'vitest';
import {
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
  createPolicySource,
  readServedBundle,
  respondWithBundle,
  verifyBundle,
  watchPolicy,
} from './index.ts';

const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
};

describe('trust configuration', () => {
  it('an empty publicKey list is a configuration error, not "verify nothing"', async () => {
    // `publicKey: config.trustedKeys` with an empty list used to mean "no key": the unsigned
    // bundle below loaded and allowed the call.
    const dir = tempDir();
    const out = join(dir, 'bundle');
    await buildBundle(writePolicy(dir, refundPolicy(1_000_000)), { outDir: out });

    const e = thrown(() => track(createPolicySource(out, { publicKey: [] })));
    expect(HexgateError.isInstance(e) && e.code).toBe('INVALID_OPTIONS');
    expect((e as Error).message).toMatch(/publicKey.*empty/);
    await expect(verifyBundle(out, { publicKey: [] })).rejects.toThrow(/publicKey.*empty/);
    const url = 'http://127.0.0.1:1/policy';
    expect(() => createPolicySource(url, { publicKey: [], requireSignature: true })).toThrow(/empty/);

    // No key at all is still the documented development default.
    const dev = track(createPolicySource(out, { requireSignature: false }));
    await dev.ready();
    expect(createEnforcer({ policy: dev }).decide(refund(5)).decision.outcome).toBe('allow');
  });
});

describe('listeners', () => {
  it('an async onError/onLoad/subscribe listener that rejects is reported, not an unhandled rejection', async () => {
    // `onError: async (e) => webhook.post(e)` rejects exactly when the network is down, which is
    // when refreshes fail: an unhandled rejection there takes the whole host process down.
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const dir = tempDir();
      const p = writePolicy(dir, 'tools: [\n');
      const source = track(
        createPolicySource(p, {
          requireSignature: false,
          onError: async () => {
            throw new Error('webhook down');
          },
          onLoad: async () => {
            throw new Error('metrics down');
          },
        }),
      );
      source.subscribe(async () => {
        throw new Error('audit down');
      });
      await expect(source.ready()).rejects.toMatchObject({ code: 'policy-invalid' });
      writePolicy(dir, refundPolicy(5));
      expect(await source.refresh()).toMatchObject({ outcome: 'loaded' });
      const failed = nextEvent(source, isError, 'a failed refresh');
      writePolicy(dir, 'tools: [\n');
      void source.refresh();
      await failed;
      await new Promise((r) => setTimeout(r, 20));
      expect(rejections).toEqual([]);
      const warned = warn.mock.calls.map((c) => String(c[0])).join('\n');
      for (const m of ['webhook down', 'metrics down', 'audit down']) expect(warned).toContain(m);
      expect(createEnforcer({ policy: source }).decide(refund(5)).decision.outcome).toBe('allow');
    } finally {
      process.off('unhandledRejection', onRejection);
      warn.mockRestore();
    }
  });
});

/** Replaces a directory in one rename, as a deployment would. */
function replaceDir(from: string, to: string) {
  const tmp = `${to}.incoming`;
  cpSync(from, tmp, { recursive: true });
  rmSync(to, { recursive: true, force: true });
  renameSync(tmp, to);
}

/** Signed revisions 1..n of one policy id, each copied to its own directory; revision r allows refunds up to r. */
async function signedRevisions(n: number) {
  const dir = tempDir();
  const k = await keys(dir);
  const out = join(dir, 'build');
  const revs: string[] = [];
  for (let r = 1; r <= n; r++) {
    await buildBundle(writePolicy(dir, refundPolicy(r)), { outDir: out, signKey: k.privateKeyPath, policyId: 'p' });
    const copy = join(dir, `rev${r}`);
    cpSync(out, copy, { recursive: true });
    revs.push(copy);
  }
  return { dir, k, revs };
}

describe('revision state file', () => {
  it('two sources (workers) sharing a state file: a lagging one cannot lower it or accept a revision below it', async () => {
    // Worker B still runs revision 1 when worker A accepts revision 3. An attacker then serves the
    // old, validly signed revision 2 to B. B used to accept it and rewrite the state file down to 2,
    // so after a restart every worker accepted revision 2 again.
    const { dir, k, revs } = await signedRevisions(3);
    const stateFile = join(dir, 'state.json');
    const bDir = join(dir, 'b');
    cpSync(revs[0] as string, bDir, { recursive: true });
    const b = track(createPolicySource(bDir, { publicKey: k.publicKeyPath, stateFile, debounceMs: 1 }));
    expect(await b.ready()).toMatchObject({ revision: 1 });
    const a = track(createPolicySource(revs[2] as string, { publicKey: k.publicKeyPath, stateFile, debounceMs: 1 }));
    expect(await a.ready()).toMatchObject({ revision: 3 });

    replaceDir(revs[1] as string, bDir);
    expect(await b.refresh()).toMatchObject({ outcome: 'failed', error: { code: 'rollback' } });
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ policyId: 'p', revision: 3 });

    // A restart on revision 2 is refused; revision 3 is still accepted by B.
    const restarted = track(createPolicySource(bDir, { publicKey: k.publicKeyPath, stateFile, debounceMs: 1 }));
    await expect(restarted.ready()).rejects.toMatchObject({ code: 'rollback' });
    replaceDir(revs[2] as string, bDir);
    expect(await b.refresh()).toMatchObject({ outcome: 'loaded' });
    expect(createEnforcer({ policy: b }).decide(refund(3)).decision.outcome).toBe('allow');
  });

  it('writes its temporary file exclusively, never through a planted symlink', async () => {
    const { dir, k, revs } = await signedRevisions(1);
    const stateFile = join(dir, 'state.json');
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    // The temporary name used to be predictable: `${stateFile}.${pid}.${Date.now()}.tmp`.
    const now = Date.now();
    symlinkSync(victim, `${stateFile}.${process.pid}.${now}.tmp`);
    const spy = vi.spyOn(Date, 'now').mockReturnValue(now);
    try {
      const source = track(createPolicySource(revs[0] as string, { publicKey: k.publicKeyPath, stateFile }));
      await source.ready();
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ revision: 1 });
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A local HTTP server on `host` (127.0.0.2 stands for "another host"), closed after the test. */
async function serve(handler: Handler, host = '127.0.0.1') {
  const server = createServer(handler);
  server.listen(0, host);
  await once(server, 'listening');
  onCleanup(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

describe('HTTP responses', () => {
  it('configured headers (credentials) are not sent to another origin a redirect points at', async () => {
    // fetch itself drops only `authorization` on a cross-origin redirect: an `x-api-key` header
    // went to whatever host the policy server (or an open redirect on it) named.
    const { k, revs } = await signedRevisions(1);
    const served = await readServedBundle(revs[0] as string);
    const seenByOther: unknown[] = [];
    const other = await serve((req, res) => {
      seenByOther.push(req.headers['x-api-key'] ?? req.headers.authorization);
      respondWithBundle(req, res, served);
    }, '127.0.0.2');
    const seenByOrigin: unknown[] = [];
    const origin = await serve((req, res) => {
      seenByOrigin.push(req.headers['x-api-key']);
      // A same-origin hop first (keeps the headers), then another origin.
      res.writeHead(302, { location: req.url === '/policy' ? '/moved' : `${other}/bundle` }).end();
    });
    const source = track(
      createPolicySource(`${origin}/policy`, {
        publicKey: k.publicKeyPath,
        headers: { 'x-api-key': 'secret', authorization: 'Bearer t0ken' },
      }),
    );
    expect(await source.ready()).toMatchObject({ revision: 1, signatureVerified: true });
    expect(seenByOrigin).toEqual(['secret', 'secret']);
    expect(seenByOther).toEqual([undefined]);
  });

  it('an unsigned source is not redirected to plain http on a host it could not be configured with', async () => {
    // Start-up refuses an unsigned policy over plain http from a non-loopback host; a redirect
    // from an accepted URL used to reach such a host anyway, where anyone on the path can rewrite it.
    const dir = tempDir();
    const out = join(dir, 'unsigned');
    await buildBundle(writePolicy(dir, refundPolicy(1_000_000)), { outDir: out });
    const served = await readServedBundle(out);
    const other = await serve((req, res) => respondWithBundle(req, res, served), '127.0.0.2');
    expect(() => createPolicySource(`${other}/p`, { requireSignature: false })).toThrow(/plain http/);
    const origin = await serve((_req, res) => res.writeHead(307, { location: `${other}/p` }).end());
    const source = track(
      createPolicySource(`${origin.replace('127.0.0.1', 'localhost')}/p`, { requireSignature: false }),
    );
    const err = await source.ready().catch((e) => e);
    expect(err).toMatchObject({ code: 'http-status', message: expect.stringMatching(/redirect.*plain http/) });
    expect(createEnforcer({ policy: source }).decide(refund(5)).decision.outcome).toBe('deny');
  });

  it('a 304 to a request that named no ETag does not confirm the policy in force', async () => {
    // Without an ETag from the server no If-None-Match is sent, so a 304 cannot mean "what you have
    // is current"; it used to refresh lastSuccessAt and hold off maxStaleness.
    const { k, revs } = await signedRevisions(1);
    const served = await readServedBundle(revs[0] as string);
    let requests = 0;
    const url = await serve((_req, res) => {
      if (requests++ === 0) res.writeHead(200, { 'content-type': 'application/json' }).end(served.body);
      else res.writeHead(304).end();
    });
    const source = track(createPolicySource(`${url}/p`, { publicKey: k.publicKeyPath, maxStaleness: 60_000 }));
    await source.ready();
    const refreshed = await source.refresh();
    expect(refreshed).toMatchObject({ outcome: 'failed', error: { code: 'http-status' } });
    expect(source.status().lastError?.message).toMatch(/304.*If-None-Match/);
  });

  it('a body that trickles in forever is cut by timeoutMs (held: the timeout covers the body too)', async () => {
    const { k } = await signedRevisions(1);
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"format":');
    });
    const source = track(createPolicySource(`${url}/p`, { publicKey: k.publicKeyPath, timeoutMs: 200 }));
    await expect(source.ready()).rejects.toMatchObject({ code: 'network' });
    expect('error' in source.currentPolicy()).toBe(true);
  });

  it('gives up after a few redirects', async () => {
    const { k } = await signedRevisions(1);
    const origin = await serve((req, res) => res.writeHead(302, { location: `${req.url}x` }).end());
    const source = track(createPolicySource(`${origin}/p`, { publicKey: k.publicKeyPath }));
    await expect(source.ready()).rejects.toMatchObject({ code: 'http-status', message: /too many redirects/ });
  });
});

describe('clocks', () => {
  it('a bundle in force still expires on time when the wall clock steps back', async () => {
    // Expiry was `Date.now() >= expiresAt` only: setting the clock back revived an expired bundle.
    const dir = tempDir();
    const k = await keys(dir);
    const out = join(dir, 'b');
    const t0 = Date.now();
    await buildBundle(writePolicy(dir, refundPolicy(100)), {
      outDir: out,
      signKey: k.privateKeyPath,
      now: () => t0 - 60_000,
      expiresAt: new Date(t0 + 1000),
    });
    let clock = Date.now();
    const source = track(createPolicySource(out, { publicKey: k.publicKeyPath, now: () => clock }));
    await source.ready();
    const enforcer = createEnforcer({ policy: source });
    expect(enforcer.decide(refund(5)).decision.outcome).toBe('allow');
    clock -= 3_600_000;
    await waitFor(() => 'error' in source.currentPolicy(), 'the bundle to expire', 5000);
    expect(enforcer.decide(refund(5)).decision.reason).toMatch(/expired at/);
    expect(source.status()).toMatchObject({ expired: true, usable: false });
  });

  it('maxStaleness still fails closed when the wall clock steps back (NTP correction, VM restore)', async () => {
    // Staleness was `Date.now() - confirmedAt`: after the clock stepped back an hour, a source
    // that never confirmed again stayed "fresh" for an hour plus maxStaleness.
    const { k, revs } = await signedRevisions(1);
    let clock = Date.now();
    const source = track(
      createPolicySource(revs[0] as string, { publicKey: k.publicKeyPath, maxStaleness: 50, now: () => clock }),
    );
    await source.ready();
    const enforcer = createEnforcer({ policy: source });
    clock -= 3_600_000;
    await waitFor(() => 'error' in source.currentPolicy(), 'the policy to go stale', 5000);
    expect(enforcer.decide(refund(1)).decision.reason).toMatch(/not been confirmed/);
    expect(source.status()).toMatchObject({ stale: true, usable: false });
    // A confirmation makes it usable again.
    expect(await source.refresh()).toMatchObject({ outcome: 'unchanged' });
    expect(enforcer.decide(refund(1)).decision.outcome).toBe('allow');
  });
});

describe('YAML sources', () => {
  it('a policy file or role file replaced by a FIFO fails the refresh instead of hanging it (and close())', async () => {
    // core's readPolicyFiles stats and then readFile()s: on a FIFO that blocks until a writer
    // appears, so the refresh chain and close() never finished.
    if (process.platform === 'win32') return; // no FIFOs
    const dir = tempDir();
    const p = writePolicy(dir, refundPolicy(5));
    const roles = join(dir, 'roles');
    mkdirSync(roles);
    writePolicy(roles, refundPolicy(5), 'default.yaml');
    for (const [location, fifo] of [
      [p, p],
      [roles, join(roles, 'billing.yaml')],
    ] as const) {
      const source = track(createPolicySource(location, { requireSignature: false, debounceMs: 1 }));
      await source.ready();
      rmSync(fifo, { force: true });
      execFileSync('mkfifo', [fifo]);
      const hung = Symbol('hung');
      const r = await Promise.race([source.refresh(), new Promise((res) => setTimeout(() => res(hung), 5000))]);
      expect(r).toMatchObject({ outcome: 'failed', error: { code: 'read', message: /not a regular file/ } });
      expect(createEnforcer({ policy: source }).decide(refund(5)).decision.outcome).toBe('allow');
      await source.close();
    }
  });
});

describe('bundle directory reads', () => {
  it('a file swapped for a FIFO between the directory scan and the read does not hang the refresh', async () => {
    // Entries were checked with lstat and then read with readFile: a FIFO renamed over a regular
    // file in between made open() block forever, so that refresh (and close()) never finished.
    if (process.platform === 'win32') return; // no FIFOs
    const { k, revs } = await signedRevisions(1);
    const out = revs[0] as string;
    const spare = join(tempDir(), 'spare');
    mkdirSync(spare);
    const pairs = 200;
    for (let i = 0; i < pairs; i++) {
      writeFileSync(join(spare, `f${i}`), 'x');
      execFileSync('mkfifo', [join(spare, `p${i}`)]);
    }
    const target = join(out, 'policy', 'x.yaml');
    let stop = false;
    const swapper = (async () => {
      for (let i = 0; i < pairs && !stop; i++) {
        renameSync(join(spare, `f${i}`), target);
        await new Promise((r) => setImmediate(r));
        renameSync(join(spare, `p${i}`), target);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const hung = Symbol('hung');
    try {
      for (let n = 0; n < 40; n++) {
        const r = await Promise.race([
          verifyBundle(out, { publicKey: k.publicKeyPath }),
          new Promise((resolve) => setTimeout(() => resolve(hung), 5000)),
        ]);
        expect(r).not.toBe(hung);
        expect((r as { ok: boolean }).ok).toBe(false);
      }
    } finally {
      stop = true;
      await swapper;
    }
  });

  it('a huge file dropped into a bundle directory is refused by its size, never read into memory', async () => {
    // Every file of the directory was read whole (twice: the stable double read) before the
    // manifest could say it does not belong: a file of a gigabyte or two there cost that much
    // memory, twice, on every refresh, enough to take the host process down.
    const { k, revs } = await signedRevisions(1);
    const out = revs[0] as string;
    const source = track(createPolicySource(out, { publicKey: k.publicKeyPath, debounceMs: 1 }));
    await source.ready();
    const huge = join(out, 'policy', 'zz.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 64 * 1024 * 1024); // sparse: costs no disk
    const r = await source.refresh();
    expect(r).toMatchObject({ outcome: 'failed', error: { code: 'bundle-invalid' } });
    const problems = r.outcome === 'failed' ? r.error.problems : [];
    expect(problems).toContainEqual(expect.objectContaining({ code: 'too-large', file: 'policy/zz.yaml' }));
    expect(createEnforcer({ policy: source }).decide(refund(1)).decision.outcome).toBe('allow');
    const v = await verifyBundle(out, { publicKey: k.publicKeyPath });
    expect(v.problems.map((p) => p.code)).toContain('too-large');
    // A larger limit is a choice: the file is then read and refused as unlisted.
    const roomy = await verifyBundle(out, { publicKey: k.publicKeyPath, maxBytes: 128 * 1024 * 1024 });
    expect(roomy.problems.map((p) => p.code)).toEqual(['file-unlisted']);
    await expect(verifyBundle(out, { publicKey: k.publicKeyPath, maxBytes: Number.NaN })).rejects.toThrow(/maxBytes/);
  });
});

describe('hot reload', () => {
  it('a steady stream of unrelated file events next to the bundle does not hold off a new revision', async () => {
    // Every event restarted the debounce, and the parent directory is watched: a log file written
    // there more often than debounceMs meant new revisions (a revocation) were never loaded.
    const dir = tempDir();
    const k = await keys(dir);
    const policyFile = writePolicy(dir, refundPolicy(100));
    const out = join(dir, 'bundle');
    await buildBundle(policyFile, { outDir: out, signKey: k.privateKeyPath });
    const source = track(watchPolicy(out, { publicKey: k.publicKeyPath, debounceMs: 100 }));
    await source.ready();
    const log = join(dir, 'agent.log');
    let n = 0;
    const noise = setInterval(() => writeFileSync(log, `line ${n++}\n`, { flag: 'a' }), 20);
    onCleanup(() => clearInterval(noise));
    const loaded = nextEvent(source, isLoaded, 'revision 2 despite the noise', 8000);
    writePolicy(dir, refundPolicy(undefined));
    await buildBundle(policyFile, { outDir: out, signKey: k.privateKeyPath });
    expect(await loaded).toMatchObject({ revision: 2 });
    clearInterval(noise);
    expect(createEnforcer({ policy: source }).decide(refund(5)).decision.outcome).toBe('deny');
  });
});

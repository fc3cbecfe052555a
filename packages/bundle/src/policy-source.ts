/**
 * A policy source: a YAML file or directory, a bundle directory or an HTTP
 * URL serving a bundle, behind one interface that is also core's
 * `PolicyProvider`. `createEnforcer({ policy: source })` then picks up new
 * policies without a restart.
 *
 * Invariants:
 * - The policy in force is one immutable record swapped by a single
 *   assignment. `currentPolicy()` reads it once (core reads the provider once
 *   per decision), so a decision runs entirely on one policy.
 * - Nothing is swapped in unless it read completely, verified and built.
 *   A failed refresh keeps the last good policy and is reported (events,
 *   `status().lastError`).
 * - Fail closed: no policy ever loaded, an expired bundle, a policy not
 *   confirmed within `maxStaleness`, or a closed source: every decision denies.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidOptionsError, type Policy, type PolicyProvider } from '@hexgate/core';
import { type TargetWatcher, watchTarget } from './fs-watch.ts';
import { type KeyInput, trustedKeys } from './keys.ts';
import { isoTime, MANIFEST_FILE } from './manifest.ts';
import type { TrustSettings } from './open-bundle.ts';
import { type BundleProblem, problem } from './problems.ts';
import { DEFAULT_MAX_BYTES } from './read-bundle-dir.ts';
import {
  bundleFailure,
  PolicySourceError,
  type PolicySourceErrorCode,
  type PolicySourceFailure,
} from './source-error.ts';
import {
  bundleDirReader,
  type Candidate,
  httpReader,
  isLoopbackHost,
  type Reader,
  yamlReader,
} from './source-readers.ts';
import { higherState, type RevisionState, readRevisionState, writeRevisionState } from './state-file.ts';
import { defaultRequireSignature } from './trust.ts';

export type PolicySourceKind = 'file' | 'directory' | 'bundle' | 'http';

export interface PolicySourceOptions {
  /** What `location` is. Default: detected (http(s) URL; a directory with manifest.json is a bundle). */
  readonly kind?: PolicySourceKind;
  /** Follow changes: fs.watch for files, polling for HTTP. `watchPolicy` turns it on; default off. */
  readonly watch?: boolean;
  /** Quiet time after a file event before reading, and between the two reads that must match. Default 100 ms. */
  readonly debounceMs?: number;
  /**
   * Polling interval. HTTP: default 30 s (or `maxStaleness / 3` if smaller).
   * Files: a periodic re-read in addition to fs.watch, off by default, but
   * `maxStaleness / 3` when `maxStaleness` is set.
   */
  readonly intervalMs?: number;
  /**
   * Deny every decision when the source has not confirmed the policy in force
   * (a successful load, an unchanged re-read or an HTTP 304) for longer than
   * this many milliseconds. Default: no limit.
   */
  readonly maxStaleness?: number;
  /** Trusted Ed25519 public key(s) (path, PEM, KeyObject). With a key, unsigned bundles are refused. */
  readonly publicKey?: KeyInput | readonly KeyInput[];
  /** Refuse unsigned policies, including plain YAML sources. Default: on when NODE_ENV=production. */
  readonly requireSignature?: boolean;
  /** Bundles only: the policy id to accept (default: the first one loaded, then pinned). */
  readonly policyId?: string;
  /** Bundles only: refuse revisions below this. */
  readonly minRevision?: number;
  /** Bundles only: a file persisting the highest revision accepted, so rollback protection survives restarts. */
  readonly stateFile?: string;
  /** HTTP: request timeout. Default 10 s. */
  readonly timeoutMs?: number;
  /** Largest HTTP document, or total size of a bundle directory's files, accepted. Default 8 MiB. */
  readonly maxBytes?: number;
  /** HTTP: extra request headers (e.g. authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Called after a new policy is swapped in. */
  readonly onLoad?: (event: PolicyLoadedEvent) => void;
  /** Called after a refresh fails (the last good policy stays in force). */
  readonly onError?: (event: PolicyErrorEvent) => void;
  /** Clock (tests). */
  readonly now?: () => number;
}

export interface PolicyLoadedEvent {
  readonly type: 'loaded';
  readonly at: string;
  readonly policyDigest: string;
  readonly previousDigest: string | undefined;
  readonly policyId?: string;
  readonly revision?: number;
}

export interface PolicyErrorEvent {
  readonly type: 'error';
  readonly at: string;
  readonly error: PolicySourceError;
  /** Whether a (last good) policy is still in force. */
  readonly policyInForce: boolean;
}

export type PolicySourceEvent = PolicyLoadedEvent | PolicyErrorEvent;

export interface PolicySourceStatus {
  readonly kind: PolicySourceKind;
  readonly location: string;
  /** Whether `currentPolicy()` returns a policy right now. */
  readonly usable: boolean;
  /** Why not, when not usable. */
  readonly reason: string | undefined;
  readonly policyDigest: string | undefined;
  readonly policyId: string | undefined;
  readonly revision: number | undefined;
  readonly issuedAt: string | undefined;
  readonly expiresAt: string | undefined;
  readonly keyId: string | null | undefined;
  /** True when a trusted key verified the policy in force. */
  readonly signatureVerified: boolean;
  /** When the policy in force was swapped in. */
  readonly loadedAt: string | undefined;
  /** When the source last confirmed that the policy in force is current. */
  readonly lastSuccessAt: string | undefined;
  readonly lastAttemptAt: string | undefined;
  /** The failure of the latest refresh; undefined once a refresh succeeds. */
  readonly lastError: PolicySourceFailure | undefined;
  readonly consecutiveFailures: number;
  readonly stale: boolean;
  readonly expired: boolean;
  readonly closed: boolean;
}

export type RefreshResult =
  | { readonly outcome: 'loaded'; readonly policyDigest: string }
  | { readonly outcome: 'unchanged'; readonly policyDigest: string }
  | { readonly outcome: 'failed'; readonly error: PolicySourceError };

export interface PolicySource extends PolicyProvider {
  readonly kind: PolicySourceKind;
  readonly location: string;
  /** O(1): the policy in force, or why there is none usable. */
  currentPolicy(): { readonly policy: Policy } | { readonly error: string };
  status(): PolicySourceStatus;
  /** Waits for the first load; resolves with the status, rejects with the error if it failed. */
  ready(): Promise<PolicySourceStatus>;
  /** Re-reads now (serialized with other refreshes). Never rejects. */
  refresh(): Promise<RefreshResult>;
  /** Listen to `loaded` / `error` events; returns an unsubscribe function. */
  subscribe(listener: (event: PolicySourceEvent) => void): () => void;
  /** Stops watchers and timers. Afterwards every decision denies. */
  close(): Promise<void>;
}

interface InForce {
  readonly result: { readonly policy: Policy };
  readonly key: string;
  readonly etag: string | undefined;
  readonly bundle: Candidate['bundle'];
  readonly expiresAtMs: number;
  /**
   * The same deadline on the monotonic clock, from the time left when the bundle was swapped in:
   * setting the wall clock back must not revive a bundle in force past its expiry.
   */
  readonly expiresMono: number;
  readonly loadedAt: number;
}

const KINDS: readonly PolicySourceKind[] = ['file', 'directory', 'bundle', 'http'];
const DEFAULTS = { debounceMs: 100, httpIntervalMs: 30_000, timeoutMs: 10_000, maxBytes: DEFAULT_MAX_BYTES };

/** Watches `location` and hot-reloads: `createPolicySource(location, { ...options, watch: true })`. */
export function watchPolicy(location: string, options: Omit<PolicySourceOptions, 'watch'> = {}): PolicySource {
  return createPolicySource(location, { ...options, watch: true });
}

export function createPolicySource(location: string, options: PolicySourceOptions = {}): PolicySource {
  if (typeof location !== 'string' || location.length === 0)
    throw new InvalidOptionsError('createPolicySource: a path or URL is required');
  if (options.kind !== undefined && !KINDS.includes(options.kind))
    throw new InvalidOptionsError(`unknown policy source kind '${String(options.kind)}': use ${KINDS.join(', ')}`);
  const kind = options.kind ?? detectKind(location);
  const where = kind === 'http' ? location : resolve(location);
  const clock = options.now ?? Date.now;
  const keys = trustedKeys(options.publicKey);
  const requireSignature = options.requireSignature ?? defaultRequireSignature();
  const debounceMs = nonNegative(options.debounceMs, 'debounceMs') ?? DEFAULTS.debounceMs;
  const maxStaleness = nonNegative(options.maxStaleness, 'maxStaleness');
  checkTrustOptions(kind, where, options, keys.length, requireSignature);

  // Poll often enough that a healthy source never goes stale: at most maxStaleness / 3.
  const stalenessInterval = maxStaleness === undefined ? undefined : Math.max(1, Math.floor(maxStaleness / 3));
  const intervalMs =
    nonNegative(options.intervalMs, 'intervalMs') ??
    (kind === 'http'
      ? Math.min(DEFAULTS.httpIntervalMs, stalenessInterval ?? Number.POSITIVE_INFINITY)
      : stalenessInterval);

  // A NaN limit would compare false and accept any size: validated like the timings.
  const maxBytes = nonNegative(options.maxBytes, 'maxBytes', 'bytes') ?? DEFAULTS.maxBytes;
  const reader: Reader =
    kind === 'http'
      ? httpReader(where, {
          timeoutMs: nonNegative(options.timeoutMs, 'timeoutMs') ?? DEFAULTS.timeoutMs,
          maxBytes,
          headers: options.headers ?? {},
          plainHttpOk: keys.length > 0,
        })
      : kind === 'bundle'
        ? bundleDirReader(where, debounceMs, maxBytes)
        : yamlReader(where, kind, debounceMs);

  // A corrupt state file is a configuration error: fail at start, loudly.
  let floor: RevisionState | undefined = options.stateFile ? readRevisionState(options.stateFile) : undefined;

  let inForce: InForce | undefined;
  let confirmedAt = 0;
  /**
   * The same instant on the monotonic clock. Staleness is an elapsed time: measured on the wall
   * clock alone, a clock stepped back (NTP, a restored VM) kept an unconfirmed policy "fresh"
   * for as long as the step. A policy is stale when either clock says so (fail closed).
   */
  let confirmedMono = 0;
  const isExpired = (s: InForce, now: number) => now >= s.expiresAtMs || performance.now() >= s.expiresMono;
  const isStale = (now: number) =>
    maxStaleness !== undefined &&
    (now - confirmedAt > maxStaleness || performance.now() - confirmedMono > maxStaleness);
  let lastAttemptAt: number | undefined;
  let lastError: PolicySourceFailure | undefined;
  let lastErrorObject: PolicySourceError | undefined;
  let failures = 0;
  let closed = false;
  let noPolicy: { readonly error: string } = Object.freeze({ error: `policy source ${where} is loading` });
  const CLOSED = Object.freeze({ error: `policy source ${where} is closed` });
  const listeners = new Set<(event: PolicySourceEvent) => void>();
  const abort = new AbortController();
  let chain: Promise<unknown> = Promise.resolve();
  let pollTimer: NodeJS.Timeout | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let watcher: TargetWatcher | undefined;

  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

  const emit = (event: PolicySourceEvent) => {
    const all: ((e: PolicySourceEvent) => void)[] = [...listeners];
    if (event.type === 'loaded' && options.onLoad) all.push(options.onLoad as (e: PolicySourceEvent) => void);
    if (event.type === 'error' && options.onError) all.push(options.onError as (e: PolicySourceEvent) => void);
    const warn = (e: unknown) =>
      process.emitWarning(`hexgate: a policy source listener threw: ${(e as Error)?.message ?? e}`);
    for (const l of all) {
      try {
        const r: unknown = l(event);
        // An async listener (a webhook, a log shipper) rejects exactly when refreshes fail for
        // network reasons; left unhandled, that rejection would crash the host process.
        if (typeof (r as PromiseLike<unknown> | undefined)?.then === 'function')
          (r as PromiseLike<unknown>).then(undefined, warn);
      } catch (e) {
        warn(e);
      }
    }
  };

  /** Rollback and policy-id rules for a verified bundle. Returns 'same' for an identical re-read. */
  const checkRevision = (b: NonNullable<Candidate['bundle']>): 'new' | 'same' => {
    const { manifest: m, manifestSha256 } = b;
    const problems: BundleProblem[] = [];
    const current = inForce?.bundle;
    const expectedId = options.policyId ?? current?.manifest.policyId ?? floor?.policyId;
    if (expectedId !== undefined && m.policyId !== expectedId)
      problems.push(
        problem('policy-id-mismatch', `the bundle is for policy '${m.policyId}', expected '${expectedId}'`),
      );
    if (options.minRevision !== undefined && m.revision < options.minRevision)
      problems.push(problem('rollback', `revision ${m.revision} is below the minimum revision ${options.minRevision}`));
    for (const ref of [
      current && { revision: current.manifest.revision, sha: current.manifestSha256 },
      floor && { revision: floor.revision, sha: floor.manifestSha256 },
    ]) {
      if (!ref) continue;
      if (m.revision < ref.revision)
        problems.push(
          problem('rollback', `revision ${m.revision} is older than revision ${ref.revision} already accepted`),
        );
      else if (m.revision === ref.revision && manifestSha256 !== ref.sha)
        problems.push(problem('rollback', `revision ${m.revision} was already accepted with different content`));
    }
    if (problems.length > 0) throw bundleFailure(where, problems);
    return current && current.manifestSha256 === manifestSha256 ? 'same' : 'new';
  };

  const attempt = async (): Promise<RefreshResult> => {
    if (closed) return { outcome: 'failed', error: new PolicySourceError('read', `policy source ${where} is closed`) };
    lastAttemptAt = clock();
    try {
      const read = await reader.read({ signal: abort.signal, etag: inForce?.etag });
      if (closed) throw new PolicySourceError('read', `policy source ${where} is closed`);
      const current = inForce;
      if (read.type === 'not-modified') {
        if (!current) throw new PolicySourceError('http-status', `${where} answered 304 but no policy is loaded`);
        return confirm(current);
      }
      if (current && read.key === current.key) return confirm(current, read.etag);
      const trust: TrustSettings = { keys, requireSignature, now: clock() };
      const candidate = read.open(trust);
      // Other sources or worker processes may share the state file and have accepted a newer
      // revision since we read it: re-read it, so a lagging worker can neither accept a revision
      // below it nor write the floor back down (which a restart would then trust).
      if (candidate.bundle && options.stateFile) floor = higherState(floor, readRevisionState(options.stateFile));
      if (candidate.bundle && checkRevision(candidate.bundle) === 'same' && current) return confirm(current, read.etag);
      if (candidate.bundle && options.stateFile) {
        // Record before swapping: if we cannot record it, we do not use it.
        const next: RevisionState = {
          policyId: candidate.bundle.manifest.policyId,
          revision: candidate.bundle.manifest.revision,
          manifestSha256: candidate.bundle.manifestSha256,
        };
        await writeRevisionState(options.stateFile, next);
        floor = next;
      }
      if (closed) throw new PolicySourceError('read', `policy source ${where} is closed`);
      const now = clock();
      const expires = candidate.bundle?.manifest.expiresAt;
      const expiresAtMs = expires === undefined ? Number.POSITIVE_INFINITY : (isoTime(expires) ?? 0);
      const previousDigest = current?.result.policy.digest;
      // The swap: one assignment of a frozen record.
      inForce = Object.freeze({
        result: Object.freeze({ policy: candidate.policy }),
        key: read.key,
        etag: read.etag,
        bundle: candidate.bundle,
        expiresAtMs,
        expiresMono: performance.now() + (expiresAtMs - now),
        loadedAt: now,
      });
      succeeded(now);
      emit({
        type: 'loaded',
        at: new Date(now).toISOString(),
        policyDigest: candidate.policy.digest,
        previousDigest,
        ...(candidate.bundle
          ? { policyId: candidate.bundle.manifest.policyId, revision: candidate.bundle.manifest.revision }
          : {}),
      });
      return { outcome: 'loaded', policyDigest: candidate.policy.digest };
    } catch (e) {
      const error =
        e instanceof PolicySourceError
          ? e
          : new PolicySourceError('read', `refresh of ${where} failed: ${(e as Error)?.message ?? String(e)}`, {
              cause: e,
            });
      failed(error);
      return { outcome: 'failed', error };
    } finally {
      watcher?.rearm();
    }
  };

  const confirm = (current: InForce, etag?: string): RefreshResult => {
    if (etag !== undefined && etag !== current.etag) inForce = Object.freeze({ ...current, etag });
    succeeded(clock());
    return { outcome: 'unchanged', policyDigest: current.result.policy.digest };
  };

  const succeeded = (now: number) => {
    confirmedAt = now;
    confirmedMono = performance.now();
    lastError = undefined;
    failures = 0;
  };

  const failed = (error: PolicySourceError) => {
    const at = clock();
    failures++;
    lastErrorObject = error;
    lastError = Object.freeze({
      code: error.code,
      message: error.message,
      at: new Date(at).toISOString(),
      problems: error.problems,
      issues: error.issues,
    });
    if (!inForce) noPolicy = Object.freeze({ error: `no policy could be loaded from ${where}: ${error.message}` });
    if (closed) return;
    emit({ type: 'error', at: lastError.at, error, policyInForce: inForce !== undefined });
  };

  /** Refreshes run one at a time, in order. */
  const enqueue = (): Promise<RefreshResult> => {
    const run = chain.then(attempt);
    chain = run.catch(() => undefined);
    return run.finally(schedulePoll);
  };

  const schedulePoll = () => {
    if (closed || !options.watch || intervalMs === undefined) return;
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => void enqueue(), intervalMs);
    pollTimer.unref();
  };

  /**
   * Debounced, but a burst is cut at 10 x debounceMs: every event used to restart the wait, and
   * the parent directory is watched, so a log file written there more often than debounceMs held
   * off every new revision (a revocation never took effect).
   */
  let burstStart: number | undefined;
  const onFsEvent = () => {
    if (closed) return;
    const t = performance.now();
    burstStart ??= t;
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(
      () => {
        burstStart = undefined;
        void enqueue();
      },
      Math.max(0, Math.min(debounceMs, burstStart + 10 * debounceMs - t)),
    );
    debounceTimer.unref();
  };

  if (options.watch && kind !== 'http') watcher = watchTarget(where, kind, onFsEvent);
  const first = enqueue();

  const currentPolicy = (): { readonly policy: Policy } | { readonly error: string } => {
    if (closed) return CLOSED;
    const s = inForce;
    if (s === undefined) return noPolicy;
    if (maxStaleness === undefined && s.expiresAtMs === Number.POSITIVE_INFINITY) return s.result;
    const now = clock();
    if (isExpired(s, now)) return { error: `the policy bundle from ${where} expired at ${iso(s.expiresAtMs)}` };
    if (isStale(now))
      return {
        error: `the policy from ${where} has not been confirmed since ${iso(confirmedAt)} (maxStaleness ${maxStaleness} ms)`,
      };
    return s.result;
  };

  const status = (): PolicySourceStatus => {
    const s = inForce;
    const state = currentPolicy();
    const now = clock();
    const m = s?.bundle?.manifest;
    return Object.freeze({
      kind,
      location: where,
      usable: 'policy' in state,
      reason: 'error' in state ? state.error : undefined,
      policyDigest: s?.result.policy.digest,
      policyId: m?.policyId,
      revision: m?.revision,
      issuedAt: m?.issuedAt,
      expiresAt: m?.expiresAt,
      keyId: m?.keyId,
      signatureVerified: s?.bundle?.signatureVerified ?? false,
      loadedAt: iso(s?.loadedAt),
      lastSuccessAt: s ? iso(confirmedAt) : undefined,
      lastAttemptAt: iso(lastAttemptAt),
      lastError,
      consecutiveFailures: failures,
      stale: s !== undefined && isStale(now),
      expired: s !== undefined && isExpired(s, now),
      closed,
    });
  };

  const source: PolicySource = {
    kind,
    location: where,
    currentPolicy,
    status,
    async ready() {
      await first;
      if (inForce) return status();
      throw lastErrorObject ?? new PolicySourceError('read', `no policy could be loaded from ${where}`);
    },
    refresh: enqueue,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(pollTimer);
      clearTimeout(debounceTimer);
      watcher?.close();
      abort.abort();
      await chain;
      listeners.clear();
    },
  };
  return Object.freeze(source);
}

function detectKind(location: string): PolicySourceKind {
  if (/^https?:\/\//i.test(location)) return 'http';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
    throw new InvalidOptionsError(`unsupported policy URL ${location}: use http(s) or a path`);
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(location);
  } catch (e) {
    throw new InvalidOptionsError(
      `cannot find the policy at ${location} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); create it first or pass \`kind\``,
    );
  }
  if (!info.isDirectory()) return 'file';
  try {
    statSync(resolve(location, MANIFEST_FILE));
    return 'bundle';
  } catch {
    return 'directory';
  }
}

function checkTrustOptions(
  kind: PolicySourceKind,
  where: string,
  options: PolicySourceOptions,
  keyCount: number,
  requireSignature: boolean,
): void {
  const fail = (msg: string): never => {
    throw new InvalidOptionsError(msg);
  };
  if (kind === 'file' || kind === 'directory') {
    if (requireSignature)
      fail(
        `requireSignature is on${options.requireSignature === undefined ? ' (NODE_ENV=production)' : ''} and ${where} is a plain YAML policy, which cannot be signed: build a signed bundle with \`hexgate policy build --sign-key\`, or set requireSignature: false`,
      );
    if (keyCount > 0) fail(`a trusted publicKey is set but ${where} is a plain YAML policy, which cannot be signed`);
    for (const k of ['policyId', 'minRevision', 'stateFile'] as const)
      if (options[k] !== undefined) fail(`\`${k}\` applies to bundles only; ${where} is a plain YAML policy`);
  }
  if ((kind === 'bundle' || kind === 'http') && requireSignature && keyCount === 0)
    fail(`requireSignature is on but no trusted publicKey is configured for ${where}`);
  if (kind === 'http') {
    let url: URL;
    try {
      url = new URL(where);
    } catch {
      throw new InvalidOptionsError(`invalid policy URL ${where}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`unsupported policy URL ${where}`);
    const loopback = isLoopbackHost(url.hostname);
    if (url.protocol === 'http:' && keyCount === 0 && !loopback)
      fail(
        `refusing to fetch an unsigned policy over plain http from ${url.host}: configure a trusted publicKey or use https`,
      );
  }
  if (options.minRevision !== undefined && (!Number.isSafeInteger(options.minRevision) || options.minRevision < 1))
    fail('minRevision must be a positive integer');
}

function nonNegative(value: number | undefined, name: string, unit = 'milliseconds'): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new InvalidOptionsError(`${name} must be a non-negative number of ${unit}`);
  return value;
}

export type { PolicySourceErrorCode };

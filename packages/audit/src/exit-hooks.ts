/**
 * Process exit handling for every open trail, with one pair of listeners in
 * all (not one per trail, which would trip MaxListeners in big test suites).
 *
 * - `beforeExit` (the event loop ran dry): start an asynchronous flush, which
 *   keeps the process alive until it is written. Tried a few times only, so a
 *   sink that stays down cannot keep a finished process alive forever.
 * - `exit` (nothing asynchronous can run any more): write synchronously with
 *   sinks that can (`appendSync`: SQLite, JSONL), then say on stderr how many
 *   records were still not written. Best effort: a SIGKILL or a crash of the
 *   runtime runs neither hook; what was committed before stays.
 */

export interface ExitParticipant {
  /** Records still queued (plus a pending loss notice). */
  pending(): number;
  flush(): Promise<void>;
  /** Synchronous flush; returns false when the sink cannot write synchronously. */
  flushSync(): boolean;
  readonly label: string;
}

const MAX_BEFORE_EXIT_TRIES = 3;
const live = new Map<ExitParticipant, { tries: number }>();
let installed = false;

function onBeforeExit(): void {
  for (const [trail, state] of live) {
    if (trail.pending() === 0 || state.tries >= MAX_BEFORE_EXIT_TRIES) continue;
    state.tries++;
    trail.flush().catch((e: unknown) => {
      process.emitWarning(`hexgate audit: flushing ${trail.label} before exit failed: ${(e as Error)?.message ?? e}`);
    });
  }
}

function onExit(): void {
  for (const trail of live.keys()) {
    if (trail.pending() === 0) continue;
    try {
      trail.flushSync();
    } catch {
      // reported below as records not written
    }
    const left = trail.pending();
    if (left > 0) {
      process.stderr.write(`hexgate audit: ${left} audit record(s) for ${trail.label} were not written before exit\n`);
    }
  }
}

export function watchExit(trail: ExitParticipant): void {
  live.set(trail, { tries: 0 });
  if (!installed) {
    installed = true;
    process.on('beforeExit', onBeforeExit);
    process.on('exit', onExit);
  }
}

export function unwatchExit(trail: ExitParticipant): void {
  live.delete(trail);
  if (installed && live.size === 0) {
    installed = false;
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
  }
}

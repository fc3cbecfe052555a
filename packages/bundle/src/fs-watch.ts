/**
 * Watches a policy file, policy directory or bundle directory with
 * `fs.watch`, robustly against the ways files really get replaced:
 *
 * - the parent directory is watched for the target's name, because editors
 *   and `buildBundle` replace files and directories by rename, which leaves
 *   a watcher on the old inode blind;
 * - the target directory (and a bundle's `policy/` folder) is watched for
 *   changes inside it;
 * - `rearm()` (called after every refresh) re-creates any watcher whose path
 *   now points at another inode, or that failed.
 *
 * Events are only hints: the caller debounces them and re-reads everything.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';

interface Watched {
  readonly path: string;
  /** Only react to this entry name (for the parent directory). */
  readonly only: string | undefined;
  watcher: FSWatcher | undefined;
  ino: number | undefined;
}

export interface TargetWatcher {
  rearm(): void;
  close(): void;
}

export function watchTarget(
  target: string,
  kind: 'file' | 'directory' | 'bundle',
  onChange: () => void,
): TargetWatcher {
  const entries: Watched[] = [{ path: dirname(target), only: basename(target), watcher: undefined, ino: undefined }];
  if (kind !== 'file') entries.push({ path: target, only: undefined, watcher: undefined, ino: undefined });
  if (kind === 'bundle')
    entries.push({ path: join(target, 'policy'), only: undefined, watcher: undefined, ino: undefined });
  let closed = false;

  const drop = (e: Watched) => {
    e.watcher?.close();
    e.watcher = undefined;
    e.ino = undefined;
  };

  const rearm = () => {
    if (closed) return;
    for (const e of entries) {
      let ino: number | undefined;
      try {
        ino = statSync(e.path).ino;
      } catch {
        ino = undefined;
      }
      if (e.watcher && ino === e.ino) continue;
      drop(e);
      if (ino === undefined) continue; // gone for now; the parent watcher sees it come back
      try {
        const w = watch(e.path, { persistent: false }, (_event, filename) => {
          if (e.only === undefined || filename === null || String(filename) === e.only) onChange();
        });
        w.on('error', () => {
          drop(e);
          onChange();
        });
        e.watcher = w;
        e.ino = ino;
      } catch {
        // Could not watch (removed meanwhile, too many watchers): the next rearm retries.
      }
    }
  };

  rearm();
  return {
    rearm,
    close() {
      closed = true;
      for (const e of entries) drop(e);
    },
  };
}

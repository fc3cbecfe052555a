/**
 * Watches a policy file, policy directory or bundle directory with
 * `fs.watch`, robustly against the ways files really get replaced:
 *
 * - the parent directory is watched, because editors and `buildBundle`
 *   replace files and directories by rename, which leaves a watcher on the
 *   old inode blind. Every event there counts, not only the target's name:
 *   Kubernetes ConfigMap volumes update `policy.yaml -> ..data/policy.yaml`
 *   by renaming `..data`, so the target's own name never shows up. A spurious
 *   event costs one re-read that finds the content unchanged;
 * - the target directory (and a bundle's `policy/` folder) is watched for
 *   changes inside it;
 * - `rearm()` (called after every refresh) re-creates any watcher whose path
 *   now points at another inode, or that failed.
 *
 * Events are only hints: the caller debounces them and re-reads everything.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { dirname, join } from 'node:path';

interface Watched {
  readonly path: string;
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
  const paths = [dirname(target)];
  if (kind !== 'file') paths.push(target);
  if (kind === 'bundle') paths.push(join(target, 'policy'));
  const entries: Watched[] = paths.map((path) => ({ path, watcher: undefined, ino: undefined }));
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
        const w = watch(e.path, { persistent: false }, () => onChange());
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

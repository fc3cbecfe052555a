/**
 * A throwaway PostgreSQL server for tests and the benchmark: `initdb` into a
 * temp dir, `pg_ctl start` on a free loopback port (unix socket in the temp
 * dir too), trust auth, stopped and deleted afterwards.
 *
 * PostgreSQL refuses to run as root. When we are root (CI, containers) the
 * server runs as the `postgres` user if it exists, else `nobody`, through
 * `runuser` (or `su` where runuser is missing), and owns only the temp dir.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

export interface PostgresServer {
  /** Connection string to the `postgres` database as superuser `hexgate`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly runAs: string | undefined;
  readonly binDir: string;
}

function findBinDir(): string {
  const candidates = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of candidates) if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  // Debian/Ubuntu keep the server binaries off PATH, one folder per major version.
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql)',
  );
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Whether every folder above `dir` lets other users through (o+x): the server's user must reach its data dir. */
function traversable(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function run(bin: string, args: string[], runAs: string | undefined): void {
  const [cmd, argv] = runAs
    ? hasCommand('runuser')
      ? ['runuser', ['-u', runAs, '--', bin, ...args]]
      : ['su', ['-s', '/bin/sh', runAs, '-c', [bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')]]
    : [bin, args];
  try {
    execFileSync(cmd as string, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir() });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; message: string };
    throw new Error(
      `${[bin, ...args].join(' ')} failed: ${err.stderr?.toString() || err.stdout?.toString() || err.message}`,
    );
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const binDir = findBinDir();
  const root = process.getuid?.() === 0;
  const runAs = root ? (['postgres', 'nobody'].find((u) => userIds(u)) ?? undefined) : undefined;
  if (root && !runAs)
    throw new Error('running as root and neither a `postgres` nor a `nobody` user exists to run PostgreSQL');
  // A TMPDIR inside /root (mode 700) would lock the server's user out: use /tmp then.
  const base = runAs && !traversable(tmpdir()) ? '/tmp' : tmpdir();
  const dir = mkdtempSync(join(base, 'hexgate-audit-pg-'));
  if (runAs) {
    const ids = userIds(runAs) as { uid: number; gid: number };
    chownSync(dir, ids.uid, ids.gid);
    chmodSync(dir, 0o700);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  try {
    run(
      join(binDir, 'initdb'),
      ['-D', data, '-U', 'hexgate', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      runAs,
    );
    run(
      join(binDir, 'pg_ctl'),
      [
        '-D',
        data,
        '-l',
        join(dir, 'server.log'),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`,
        'start',
      ],
      runAs,
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { url: `postgres://hexgate@127.0.0.1:${port}/postgres`, host: '127.0.0.1', port, dir, runAs, binDir };
}

export function stopPostgres(server: PostgresServer): void {
  try {
    run(join(server.binDir, 'pg_ctl'), ['-D', join(server.dir, 'data'), '-m', 'fast', '-w', 'stop'], server.runAs);
  } finally {
    rmSync(server.dir, { recursive: true, force: true });
  }
}

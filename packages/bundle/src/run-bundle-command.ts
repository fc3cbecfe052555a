/**
 * `hexgate policy build|keygen|verify`, as a function so any CLI framework
 * can mount it (and tests can run it without a process): takes the
 * arguments after `policy`, writes to the given streams, returns the exit
 * code (0 ok, 1 failed, 2 usage error). It never calls process.exit.
 */
import { isAbsolute, resolve } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { formatIssue, PolicyLoadError } from '@hexgate/core';
import { buildBundle } from './build-bundle.ts';
import { generateKeyPair } from './keys.ts';
import { verifyBundle } from './verify-bundle.ts';

export interface BundleCommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Directory relative paths are resolved against. Default: process.cwd(). */
  readonly cwd?: string;
}

const USAGE = `Usage:
  hexgate policy build <policy> --out <dir> [--sign-key <key>] [--revision N] [--policy-id ID] [--expires-at ISO]
  hexgate policy keygen --out <prefix> [--force]
  hexgate policy verify <dir> --pubkey <key> [--json]

build   writes a bundle: the policy files, manifest.json and (with --sign-key) manifest.sig.
        The revision defaults to the revision of the bundle already in <dir> + 1 (1 for a new dir);
        an explicit --revision must be greater than it.
keygen  writes <prefix>.key (Ed25519 private key, mode 0600) and <prefix>.pub; never overwrites without --force.
verify  checks the signature, every file hash, unlisted files, expiry and the policy itself.
`;

class UsageError extends Error {}

/** The options of each bundle command, as `util.parseArgs` takes them (`--help` aside). */
export const BUNDLE_COMMAND_OPTIONS = {
  build: {
    out: { type: 'string' },
    'sign-key': { type: 'string' },
    revision: { type: 'string' },
    'policy-id': { type: 'string' },
    'expires-at': { type: 'string' },
  },
  keygen: { out: { type: 'string' }, force: { type: 'boolean' } },
  verify: { pubkey: { type: 'string' }, json: { type: 'boolean' } },
} as const satisfies Record<string, ParseArgsOptionsConfig>;

export type BundleCommandName = keyof typeof BUNDLE_COMMAND_OPTIONS;

/** The typed values `util.parseArgs` returns for command `C`. */
type Values<C extends BundleCommandName> = ReturnType<
  typeof parseArgs<{ options: (typeof BUNDLE_COMMAND_OPTIONS)[C]; allowPositionals: true; strict: true }>
>['values'];

/** Parsed arguments of one command: `values` by option name, `positionals` after the command name. */
interface Parsed {
  readonly values: Readonly<Record<string, unknown>>;
  readonly positionals: readonly string[];
}

export async function runBundleCommand(argv: readonly string[], io: BundleCommandIo): Promise<number> {
  const args = argv[0] === 'policy' ? argv.slice(1) : [...argv];
  const [command, ...rest] = args;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io[command === undefined ? 'stderr' : 'stdout'].write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!Object.hasOwn(BUNDLE_COMMAND_OPTIONS, command)) return usage(io, `unknown command 'policy ${command}'`);
  const name = command as BundleCommandName;
  let parsed: Parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...BUNDLE_COMMAND_OPTIONS[name], help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    return usage(io, (e as Error).message);
  }
  if (parsed.values.help === true) {
    io.stdout.write(USAGE);
    return 0;
  }
  return runParsedBundleCommand(name, parsed, io);
}

/**
 * The same, for a CLI framework that already parsed `BUNDLE_COMMAND_OPTIONS[command]`
 * (positionals: the command's own, e.g. `['policy.yaml']` for build).
 */
export async function runParsedBundleCommand(
  command: BundleCommandName,
  parsed: Parsed,
  io: BundleCommandIo,
): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  try {
    if (command === 'build') return await build(parsed, io, abs);
    if (command === 'keygen') return await keygen(parsed, io, abs);
    if (command === 'verify') return await verify(parsed, io, abs);
    throw new UsageError(`unknown command 'policy ${String(command)}'`);
  } catch (e) {
    if (e instanceof UsageError) return usage(io, e.message);
    if (PolicyLoadError.isInstance(e)) {
      io.stderr.write(`error: the policy is invalid:\n${e.issues.map((i) => `  ${formatIssue(i)}\n`).join('')}`);
      return 1;
    }
    io.stderr.write(`error: ${(e as Error)?.message ?? String(e)}\n`);
    return 1;
  }
}

function usage(io: BundleCommandIo, message: string): number {
  io.stderr.write(`error: ${message}\n\n${USAGE}`);
  return 2;
}

async function build(parsed: Parsed, io: BundleCommandIo, abs: (p: string) => string): Promise<number> {
  const values = parsed.values as Values<'build'>;
  const { positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('policy build takes exactly one <policy> file or directory');
  if (!values.out) throw new UsageError('policy build needs --out <dir>');
  let revision: number | undefined;
  if (values.revision !== undefined) {
    if (!/^[1-9][0-9]*$/.test(values.revision)) throw new UsageError('--revision must be a positive integer');
    revision = Number(values.revision);
  }
  const built = await buildBundle(abs(positionals[0] as string), {
    outDir: abs(values.out),
    ...(values['sign-key'] ? { signKey: abs(values['sign-key']) } : {}),
    ...(revision !== undefined ? { revision } : {}),
    ...(values['policy-id'] ? { policyId: values['policy-id'] } : {}),
    ...(values['expires-at'] ? { expiresAt: values['expires-at'] } : {}),
  });
  const m = built.manifest;
  io.stdout.write(
    [
      `built bundle ${built.dir}`,
      `  policy id   ${m.policyId}`,
      `  revision    ${m.revision}`,
      `  issued at   ${m.issuedAt}`,
      ...(m.expiresAt ? [`  expires at  ${m.expiresAt}`] : []),
      `  signed      ${m.keyId ? `yes, key ${m.keyId}` : 'NO (unsigned: refused wherever a public key or requireSignature is configured)'}`,
      `  files       ${Object.keys(m.files).join(', ')}`,
      `  digest      ${built.policyDigest}`,
      '',
    ].join('\n'),
  );
  return 0;
}

async function keygen(parsed: Parsed, io: BundleCommandIo, abs: (p: string) => string): Promise<number> {
  const values = parsed.values as Values<'keygen'>;
  const { positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  if (!values.out) throw new UsageError('policy keygen needs --out <prefix>');
  const pair = await generateKeyPair(abs(values.out), { force: values.force === true });
  io.stdout.write(
    `wrote private key ${pair.privateKeyPath} (mode 0600; keep it secret)\nwrote public key  ${pair.publicKeyPath}\nkey id ${pair.keyId}\n`,
  );
  return 0;
}

async function verify(parsed: Parsed, io: BundleCommandIo, abs: (p: string) => string): Promise<number> {
  const values = parsed.values as Values<'verify'>;
  const { positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('policy verify takes exactly one bundle <dir>');
  if (!values.pubkey) throw new UsageError('policy verify needs --pubkey <key> (the trusted public key)');
  const dir = abs(positionals[0] as string);
  const result = await verifyBundle(dir, { publicKey: abs(values.pubkey), requireSignature: true });
  if (values.json === true) {
    io.stdout.write(`${JSON.stringify({ dir, ...result }, null, 2)}\n`);
    return result.ok ? 0 : 1;
  }
  if (result.ok && result.manifest) {
    const m = result.manifest;
    io.stdout.write(
      `OK ${dir}\n  policy id   ${m.policyId}\n  revision    ${m.revision}\n  issued at   ${m.issuedAt}\n` +
        (m.expiresAt ? `  expires at  ${m.expiresAt}\n` : '') +
        `  signed by   ${m.keyId}\n  digest      ${result.policyDigest}\n`,
    );
    return 0;
  }
  const lines = result.problems.flatMap((p) => [
    `  - [${p.code}]${p.file ? ` ${p.file}:` : ''} ${p.message}`,
    ...(p.issues ?? []).map((i) => `      ${formatIssue(i)}`),
  ]);
  io.stderr.write(`INVALID ${dir}\n${lines.join('\n')}\n`);
  return 1;
}

import { describe, expect, it } from 'vitest';
import { EXAMPLE_POLICY, run } from './__fixtures__/run.ts';
import { commands, defineCommand, runCli } from './index.ts';

describe('hexgate (top level)', () => {
  it('prints the command list for --help and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: hexgate <command> [options]');
    for (const c of commands) expect(r.stdout).toContain(`hexgate ${c.path.join(' ')}`);
    expect(r.stdout).toContain("Run 'hexgate <command> --help' for a command's options.");
  });

  it('prints the help on stderr and exits 2 without a command', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: hexgate <command> [options]');
  });

  it('prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects an unknown command with a suggestion and exit 2', async () => {
    const r = await run(['policy', 'valdate', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "hexgate: unknown command 'policy valdate' (did you mean 'policy validate'?)\n" +
        "Run 'hexgate --help' for the list of commands.\n",
    );
  });

  it('rejects an unknown top-level word without a suggestion when nothing is close', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("hexgate: unknown command 'frobnicate'\nRun 'hexgate --help' for the list of commands.\n");
  });

  it('lists a group’s commands for `hexgate policy --help` (exit 0) and `hexgate policy` (exit 2)', async () => {
    const help = await run(['policy', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: hexgate policy <command> [options]');
    expect(help.stdout).toContain('hexgate policy validate');
    expect(help.stdout).toContain('hexgate policy explain');
    const bare = await run(['policy']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: hexgate policy <command> [options]');
  });

  it('rejects an unknown option with a suggestion and a pointer to --help', async () => {
    const r = await run(['policy', 'test', EXAMPLE_POLICY, '--tol', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "hexgate policy test: unknown option '--tol' (did you mean '--tool'?)\n" +
        "Run 'hexgate policy test --help' for usage.\n",
    );
  });

  it('reports an option given without its value', async () => {
    const r = await run(['policy', 'test', EXAMPLE_POLICY, '--tool']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("hexgate policy test: option '--tool' needs a value");
  });

  it('rejects an option given before any command', async () => {
    const r = await run(['--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "hexgate: unknown option '--frobnicate' (options go after the command)\nRun 'hexgate --help' for the list of commands.\n",
    );
  });

  it('reports a value given to a flag that takes none', async () => {
    const r = await run(['policy', 'validate', '--json=yes', 'x.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "hexgate policy validate: option '--json' does not take a value\nRun 'hexgate policy validate --help' for usage.\n",
    );
  });

  it('reports an option followed by another option instead of its value', async () => {
    const r = await run(['policy', 'test', EXAMPLE_POLICY, '--tool', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("hexgate policy test: option '--tool' needs a value\n");
  });

  it('reports a command that fails unexpectedly, exit 2, and runs commands from a given registry', async () => {
    let stderr = '';
    const failing = defineCommand({
      help: 'Usage: hexgate boom',
      options: {},
      run() {
        throw new Error('kaboom');
      },
    });
    const code = await runCli(
      ['boom'],
      { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, env: {}, isTTY: false },
      [{ path: ['boom'], summary: 'fails', load: async () => ({ default: failing }) }],
    );
    expect(code).toBe(2);
    expect(stderr).toBe('hexgate boom: unexpected error: kaboom\n');
  });

  it('every registered command loads and has --help', async () => {
    for (const c of commands) {
      const r = await run([...c.path, '--help']);
      expect(r.code, c.path.join(' ')).toBe(0);
      expect(r.stdout, c.path.join(' ')).toContain(`hexgate ${c.path.join(' ')}`);
    }
  });
});

describe('colours', () => {
  const argv = ['policy', 'test', EXAMPLE_POLICY, '--tool', 'search_kb'];
  const ESC = '\u001b[';

  it('are used on a TTY', async () => {
    const r = await run(argv, { isTTY: true });
    expect(r.stdout).toContain(`${ESC}32m✓ ALLOW${ESC}39m`);
  });

  it('are never used off a TTY', async () => {
    const r = await run(argv, { isTTY: false });
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout.startsWith('✓ ALLOW search_kb')).toBe(true);
  });

  it('honour NO_COLOR even on a TTY', async () => {
    const r = await run(argv, { isTTY: true, env: { NO_COLOR: '1' } });
    expect(r.stdout).not.toContain(ESC);
  });

  it('can be forced with FORCE_COLOR off a TTY', async () => {
    const r = await run(argv, { isTTY: false, env: { FORCE_COLOR: '1' } });
    expect(r.stdout).toContain(ESC);
  });

  it('never appear in --json output', async () => {
    const r = await run([...argv, '--json'], { isTTY: true });
    expect(r.stdout).not.toContain(ESC);
    expect(JSON.parse(r.stdout).outcome).toBe('allow');
  });
});

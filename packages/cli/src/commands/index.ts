/**
 * The command registry. Each line maps a command path to a one-line summary
 * (for `hexgate --help`) and its module, loaded only when that command runs,
 * so `hexgate policy validate` never loads, say, the MCP SDK.
 *
 * To add a command: write `commands/<name>.ts` default-exporting
 * `defineCommand({ help, options, run })`, then add one line here.
 */
import type { Command } from '../command.ts';

export interface CommandEntry {
  /** The words that select the command, e.g. ['policy', 'validate']. */
  readonly path: readonly string[];
  readonly summary: string;
  readonly load: () => Promise<{ default: Command }>;
}

function command(path: string, summary: string, load: CommandEntry['load']): CommandEntry {
  return { path: path.split(' '), summary, load };
}

export const commands: readonly CommandEntry[] = [
  command('policy validate', 'check a policy for errors and lint warnings', () => import('./policy-validate.ts')),
  command('policy test', 'decide one tool call, or run policy unit tests', () => import('./policy-test.ts')),
  command('policy explain', 'show how a tool call is evaluated, step by step', () => import('./policy-explain.ts')),
  command('policy build', 'write a (signed) policy bundle', () => import('./policy-build.ts')),
  command('policy keygen', 'create an Ed25519 key pair for signing bundles', () => import('./policy-keygen.ts')),
  command('policy verify', 'check a bundle: signature, hashes, expiry, policy', () => import('./policy-verify.ts')),
  command(
    'mcp proxy',
    'gate any stdio MCP server: policy on tools/call, filtered tools/list, tool pinning',
    () => import('./mcp-proxy.ts'),
  ),
  command('audit', 'query and verify the decision audit trail (list, blocked, stats, ...)', () => import('./audit.ts')),
];

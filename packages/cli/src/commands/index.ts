/**
 * The command registry. Each line maps a command path to its module, loaded
 * only when that command runs (so `hexgate policy validate` never loads the
 * MCP SDK). To add a command: write `commands/<name>.ts` default-exporting
 * `defineCommand({...})`, then add one line here.
 */
import type { Command } from '../command.ts';

export interface CommandEntry {
  readonly path: readonly string[];
  /** One line for `hexgate --help`. */
  readonly summary: string;
  readonly load: () => Promise<{ default: Command }>;
}

export const commands: readonly CommandEntry[] = [
  {
    path: ['policy', 'validate'],
    summary: 'check a policy for errors and lint warnings',
    load: () => import('./policy-validate.ts'),
  },
  {
    path: ['policy', 'test'],
    summary: 'decide one tool call, or run policy unit tests',
    load: () => import('./policy-test.ts'),
  },
  {
    path: ['policy', 'explain'],
    summary: 'show how a tool call is evaluated, step by step',
    load: () => import('./policy-explain.ts'),
  },
];

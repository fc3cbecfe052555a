/**
 * Test-only stand-in for `hexgate mcp proxy` (the CLI wires the real one):
 *   proxy-bin.ts --policy <file> [--user <id>] [--role <r>]... [--pin-file <f>] -- <command> [args...]
 */
import { loadPolicySync, type User } from '@hexgate/core';
import { runMcpProxy } from '../index.ts';

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const flags = split === -1 ? argv : argv.slice(0, split);
const [command, ...args] = split === -1 ? [] : argv.slice(split + 1);
const value = (name: string) => flags[flags.indexOf(name) + 1];
const roles = flags.flatMap((f, i) => (f === '--role' ? [flags[i + 1] as string] : []));
const userId = flags.includes('--user') ? value('--user') : undefined;
const user: User | undefined = userId ? { id: userId, roles } : undefined;

process.exitCode = await runMcpProxy({
  policy: loadPolicySync(value('--policy') as string),
  command: command ?? '',
  args,
  ...(user ? { user } : {}),
  ...(flags.includes('--pin-file') ? { pinFile: value('--pin-file') as string } : {}),
});

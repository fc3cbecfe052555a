/** `hexgate policy keygen --out <prefix> [--force]`: an Ed25519 key pair for signing bundles. */
import { defineCommand } from '../command.ts';
import { delegateToBundle } from './policy-bundle-args.ts';

const help = `Usage: hexgate policy keygen --out <prefix> [--force]

Writes <prefix>.key (Ed25519 private key, PKCS#8 PEM, mode 0600) and
<prefix>.pub (public key, SPKI PEM) and prints the key id. Existing files are
never overwritten without --force.

Options:
  --out <prefix>  path prefix of the two key files
  --force         overwrite existing key files
  -h, --help      show this help

Exit codes: 0 written, 1 a key file exists (or cannot be written), 2 usage.
`;

export default defineCommand({
  help,
  options: { out: { type: 'string' }, force: { type: 'boolean' } },
  run: (input, ctx) => delegateToBundle('keygen', input, ctx),
});

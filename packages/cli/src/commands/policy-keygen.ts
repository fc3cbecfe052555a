/** `hexgate policy keygen --out <prefix> [--force]`: an Ed25519 key pair for signing bundles. */
import { bundleCommand } from './policy-bundle-command.ts';

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

export default bundleCommand('keygen', help);

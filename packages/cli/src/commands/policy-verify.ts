/** `hexgate policy verify <dir> --pubkey <key>`: checks a bundle and says exactly what is wrong. */
import { bundleCommand } from './policy-bundle-command.ts';

const help = `Usage: hexgate policy verify <dir> --pubkey <key> [--json]

Checks a policy bundle: the signature over manifest.json (before parsing it),
the manifest, every file's sha256, files not listed in the manifest, expiry,
and that the policy itself loads. Prints every problem found.

Options:
  --pubkey <key>  the trusted Ed25519 public key (required)
  --json          print { ok, problems, manifest, signed, signatureVerified, policyDigest }
  -h, --help      show this help

Exit codes: 0 valid, 1 invalid, 2 usage.
`;

export default bundleCommand('verify', help);

/** `hexgate policy build <policy> --out <dir> ...`: a (signed) policy bundle, via @hexgate/bundle. */
import { bundleCommand } from './policy-bundle-command.ts';

const help = `Usage: hexgate policy build <policy> --out <dir> [--sign-key <key>] [--revision N] [--policy-id ID] [--expires-at ISO]

Validates the policy (a YAML file or a directory of role files) and writes a
bundle: the policy files, a canonical manifest.json (policy id, revision,
issued-at, optional expires-at, key id, sha256 of every file) and, with
--sign-key, manifest.sig (Ed25519 signature over the manifest bytes).

Options:
  --out <dir>        the bundle directory (created, or replaced if it holds a bundle)
  --sign-key <key>   Ed25519 private key from 'hexgate policy keygen' (without it: unsigned)
  --revision N       must be greater than the bundle already in <dir> (default: that revision + 1, or 1)
  --policy-id ID     default: the id of the bundle in <dir>, else the policy file or directory name
  --expires-at ISO   loaders refuse the bundle after this time
  -h, --help         show this help

Exit codes: 0 built, 1 invalid policy or refused revision, 2 usage.

Example:
  hexgate policy build policy.yaml --out dist/policy-bundle --sign-key keys/release.key
`;

export default bundleCommand('build', help);

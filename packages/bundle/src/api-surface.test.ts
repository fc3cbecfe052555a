import { expect, it } from 'vitest';
import * as api from './index.ts';

// The public surface is deliberate: adding or removing an export must show up
// here and be reviewed like any API change.
it('exports exactly these runtime names', () => {
  expect(Object.keys(api).sort()).toMatchInlineSnapshot(`
    [
      "BUNDLE_COMMAND_OPTIONS",
      "BundleVerificationError",
      "MANIFEST_FORMAT",
      "PolicySourceError",
      "SERVED_CONTENT_TYPE",
      "buildBundle",
      "createBundleHandler",
      "createPolicySource",
      "generateKeyPair",
      "keyIdOf",
      "loadBundle",
      "loadPrivateKey",
      "loadPublicKey",
      "readServedBundle",
      "respondWithBundle",
      "runBundleCommand",
      "runParsedBundleCommand",
      "verifyBundle",
      "watchPolicy",
    ]
  `);
});

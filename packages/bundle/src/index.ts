/**
 * @hexgate/bundle public API: anything exported here is public and versioned;
 * everything else is internal.
 */

export { type BuildBundleOptions, type BuiltBundle, buildBundle } from './build-bundle.ts';
export {
  type GeneratedKeyPair,
  generateKeyPair,
  type KeyInput,
  keyIdOf,
  loadPrivateKey,
  loadPublicKey,
} from './keys.ts';
export { type BundleManifest, MANIFEST_FORMAT, type ManifestFile } from './manifest.ts';
export {
  createPolicySource,
  type PolicyErrorEvent,
  type PolicyLoadedEvent,
  type PolicySource,
  type PolicySourceEvent,
  type PolicySourceKind,
  type PolicySourceOptions,
  type PolicySourceStatus,
  type RefreshResult,
  watchPolicy,
} from './policy-source.ts';
export { type BundleProblem, type BundleProblemCode, BundleVerificationError } from './problems.ts';
export {
  BUNDLE_COMMAND_OPTIONS,
  type BundleCommandIo,
  type BundleCommandName,
  runBundleCommand,
  runParsedBundleCommand,
} from './run-bundle-command.ts';
export {
  createBundleHandler,
  readServedBundle,
  respondWithBundle,
  SERVED_CONTENT_TYPE,
  type ServedBundle,
} from './served-bundle.ts';
export { PolicySourceError, type PolicySourceErrorCode, type PolicySourceFailure } from './source-error.ts';
export {
  type BundleVerification,
  type LoadedBundle,
  loadBundle,
  type VerifyBundleOptions,
  verifyBundle,
} from './verify-bundle.ts';

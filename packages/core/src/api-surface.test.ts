import { describe, expect, it } from 'vitest';
import * as core from './index.ts';
import * as testing from './testing/index.ts';

// The public surface is deliberate: adding or removing an export must be a
// visible change to this list, reviewed like any API change.
describe('public API surface', () => {
  it('@hexgate/core exports exactly these runtime names', () => {
    expect(Object.keys(core).sort()).toEqual([
      'DEFAULT_APPROVAL_TIMEOUT_MS',
      'DEFAULT_ARGS_LIMITS',
      'DEFAULT_REDACT_OPTIONS',
      'HexgateError',
      'InvalidOptionsError',
      'MissingUserError',
      'PolicyDeniedError',
      'PolicyLoadError',
      'askApproval',
      'buildPolicy',
      'buildPolicyFromFiles',
      'canonicalJson',
      'createEnforcer',
      'decisionPayload',
      'decisionText',
      'describePolicy',
      'didYouMean',
      'formatIssue',
      'getUser',
      'hashArgs',
      'isSecretKey',
      'loadPolicy',
      'loadPolicySync',
      'parsePolicy',
      'readPolicyFiles',
      'redact',
      'redactWithOrder',
      'runWithUser',
      'runWithoutUser',
      'sha256Hex',
      'tryGetUser',
    ]);
  });

  it('@hexgate/core/testing exports exactly these runtime names', () => {
    expect(Object.keys(testing).sort()).toEqual(['recordingEnforcer', 'testPolicy', 'withTestUser']);
  });
});

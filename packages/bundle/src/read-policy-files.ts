/**
 * The bundle builder and the file watcher read policy bytes themselves (to
 * hash exactly what is parsed, and to compare two reads for stability), with
 * the same file rules as `loadPolicy`: both come from core, so they cannot drift.
 */
export { buildPolicyFromFiles as buildFromFiles, type PolicyFiles, readPolicyFiles } from '@hexgate/core';

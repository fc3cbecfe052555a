/**
 * @hexgate/vercel-ai public API: anything exported here is public API and
 * versioned; everything else is internal.
 */

export { hexgateTools } from './hexgate-tools.ts';
export { type HexgateModelMiddlewareOptions, hexgateModelMiddleware } from './model-middleware.ts';
export type { ApprovalStore, HexgateAiOptions, PendingApproval } from './options.ts';
export { hexgateToolApproval } from './tool-approval.ts';
export { type HexgateRunOptions, traceHexgateRun } from './trace-hexgate-run.ts';

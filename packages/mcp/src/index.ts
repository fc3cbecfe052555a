/**
 * @hexgate/mcp public API. Anything exported here is public and versioned;
 * everything else is internal.
 */

export type { GateOptions } from './gate-options.ts';
export type { TextSink } from './proxy/json-lines.ts';
export {
  type McpProxyCommandOptions,
  type McpProxyOptions,
  type McpProxyUrlOptions,
  runMcpProxy,
} from './proxy/run-mcp-proxy.ts';
export type { McpRequestExtra, ResolveUser } from './resolve-caller.ts';
export { DECISION_META_KEY, toToolResult } from './to-tool-result.ts';
export { type PinnedToolFields, toolDefinitionHash } from './tool-pins.ts';
export { type WithHexgateOptions, withHexgate } from './with-hexgate.ts';
export { type LowLevelServer, withHexgateServer } from './with-hexgate-server.ts';

/**
 * @hexgate/openai-agents public API. Anything exported here is public and
 * versioned; everything else is internal.
 */

export { HexgateRunner, type HexgateRunnerConfig, type HexgateRunOptions } from './hexgate-runner.ts';
export type { EnforcerSource, GateOptions, HexgateOptions } from './options.ts';
export { wrapOpenAIAgent } from './wrap-agent.ts';

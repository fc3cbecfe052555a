/**
 * Which agent runs behind a tool made with `agent.asTool(...)`.
 *
 * The tool's `invoke` closes over the agent it was made from, so gating the
 * tools *inside* that agent needs a new agent tool made from the gated copy.
 * The SDK keeps the link in an internal registry (the one `RunState` uses to
 * walk nested agents); it is not exported, so we load that module of the
 * installed @openai/agents-core directly. `require` of an ES module returns
 * the instance the SDK itself imported, so the lookups see the SDK's own
 * registrations. The peer range pins the SDK minor version this was checked
 * against; if the module ever moves, `available` is false and wrapping an agent
 * that has agent tools fails loudly instead of leaving their tools ungated.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Agent, Tool } from '@openai/agents';

interface Registry {
  getAgentToolSourceAgent(tool: Tool<any>): Agent<any, any> | undefined;
  registerAgentToolSourceAgent(tool: Tool<any>, agent: Agent<any, any>): void;
}

let registry: Registry | null | undefined;

function load(): Registry | null {
  if (registry !== undefined) return registry;
  try {
    const require = createRequire(import.meta.url);
    const agentsEntry = require.resolve('@openai/agents');
    const coreEntry = createRequire(agentsEntry).resolve('@openai/agents-core');
    const mod = require(join(dirname(coreEntry), 'agentToolSourceRegistry.mjs')) as Partial<Registry>;
    registry =
      typeof mod.getAgentToolSourceAgent === 'function' && typeof mod.registerAgentToolSourceAgent === 'function'
        ? (mod as Registry)
        : null;
  } catch {
    registry = null;
  }
  return registry;
}

export const agentToolSource = {
  get available(): boolean {
    return load() !== null;
  },
  of(tool: Tool<any>): Agent<any, any> | undefined {
    return load()?.getAgentToolSourceAgent(tool);
  },
  /** Links a gated copy to its (gated) agent, so `RunState` finds nested agents in the gated graph. */
  register(tool: Tool<any>, agent: Agent<any, any>): void {
    load()?.registerAgentToolSourceAgent(tool, agent);
  },
  /** `asTool` adds an `on(event, handler)` method; plain function tools have none. */
  looksLikeOne(tool: Tool<any>): boolean {
    return tool.type === 'function' && typeof (tool as { on?: unknown }).on === 'function';
  },
};

/**
 * Which agent runs behind a tool made with `agent.asTool(...)`.
 *
 * The tool's `invoke` closes over the agent it was made from, so gating the
 * tools *inside* that agent needs a new agent tool made from the gated copy.
 * The SDK keeps the link in an internal registry (the one `RunState` uses to
 * walk nested agents); it is not exported, so we load that module of the
 * installed @openai/agents-core directly, and check with a probe that we got
 * the SDK's own instance. Plain Node's `require` of an ES module returns that
 * instance (synchronously); some loaders (tsx) give `require` a separate copy,
 * so `ready()` falls back to `import()`, which `HexgateRunner` awaits. The peer
 * range pins the SDK minor version this was checked against; if the module
 * ever moves, wrapping an agent that has agent tools fails loudly instead of
 * leaving their tools ungated.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, type Tool } from '@openai/agents';

interface Registry {
  getAgentToolSourceAgent(tool: Tool<any>): Agent<any, any> | undefined;
  registerAgentToolSourceAgent(tool: Tool<any>, agent: Agent<any, any>): void;
}

let registry: Registry | null | undefined; // undefined: not found yet; null: not available at all
let triedRequire = false;
let loading: Promise<void> | undefined;

function modulePath(): string {
  const require = createRequire(import.meta.url);
  const coreEntry = createRequire(require.resolve('@openai/agents')).resolve('@openai/agents-core');
  return join(dirname(coreEntry), 'agentToolSourceRegistry.mjs');
}

/** The module, if it is the instance the SDK's `asTool` registers into. */
function verified(mod: Partial<Registry> | undefined): Registry | undefined {
  if (typeof mod?.getAgentToolSourceAgent !== 'function' || typeof mod.registerAgentToolSourceAgent !== 'function')
    return undefined;
  const probe = new Agent({ name: 'hexgate-registry-probe' });
  return mod.getAgentToolSourceAgent(probe.asTool({ toolDescription: '' })) === probe ? (mod as Registry) : undefined;
}

function loadSync(): Registry | undefined {
  if (registry === undefined && !triedRequire) {
    triedRequire = true;
    try {
      registry = verified(createRequire(import.meta.url)(modulePath()));
    } catch {
      // Not loadable this way; `ready()` tries `import()`.
    }
  }
  return registry ?? undefined;
}

export const agentToolSource = {
  /** Resolves once the registry is found (or known to be unavailable). Never rejects. */
  ready(): Promise<void> {
    if (loadSync() || registry === null) return Promise.resolve();
    loading ??= (async () => {
      try {
        registry = verified(await import(pathToFileURL(modulePath()).href)) ?? null;
      } catch {
        registry = null;
      }
    })();
    return loading;
  },
  of(tool: Tool<any>): Agent<any, any> | undefined {
    return loadSync()?.getAgentToolSourceAgent(tool);
  },
  /** Links a gated copy to its (gated) agent, so `RunState` finds nested agents in the gated graph. */
  register(tool: Tool<any>, agent: Agent<any, any>): void {
    loadSync()?.registerAgentToolSourceAgent(tool, agent);
  },
  /** `asTool` adds an `on(event, handler)` method; plain function tools have none. */
  looksLikeOne(tool: Tool<any>): boolean {
    return tool.type === 'function' && typeof (tool as { on?: unknown }).on === 'function';
  },
};

/**
 * Copies an agent, and every agent reachable from it through handoffs and
 * agents-as-tools, with gated copies of its function tools, local shell,
 * apply_patch and computer tools, handoffs and MCP tools. The application's
 * agents, tools, shells, editors and computers are never modified: each copy
 * is a new `Agent` with new `tools` / `handoffs` arrays of new objects, and a
 * gated local tool wraps the application's executor in a new object.
 *
 * Hosted tools (web search, file search, code interpreter, hosted MCP, a shell
 * with a `container_*` environment...) run at the provider, inside the model
 * call: nothing reaches this process before they run, so they pass through.
 * Sandbox agents are refused: the SDK adds their capability tools to a copy it
 * makes when the run starts, which no gate sees.
 */
import { Agent, type FunctionTool, type Tool } from '@openai/agents';
import { agentToolSource } from './agent-tool-source.ts';
import { noteCallStart } from './call-starts.ts';
import { gateApplyPatchTool } from './gate-apply-patch-tool.ts';
import { gateComputerTool } from './gate-computer-tool.ts';
import { gateHandoff } from './gate-handoff.ts';
import { gateShellTool } from './gate-shell-tool.ts';
import { gateFunctionTool } from './gate-tool.ts';
import { createGate, type Gate, type HexgateOptions } from './options.ts';

type AnyAgent = Agent<any, any>;

// Which gate made a copy: lets a runner recognise its own agents (and a RunState bound to them).
const gates = new WeakMap<object, Gate>();

export function gateOf(agent: unknown): Gate | undefined {
  return typeof agent === 'object' && agent !== null ? gates.get(agent) : undefined;
}

/**
 * The gated copy of `agent`, for applications that call the SDK's `run`
 * themselves. Bind the user around that call (`runWithUser(user, () =>
 * run(gated, input))`) or carry it in the run context (`{ context: { user } }`).
 */
export function wrapOpenAIAgent<TAgent extends AnyAgent>(agent: TAgent, options: HexgateOptions): TAgent {
  return wrapWithGate(agent, createGate(options), new WeakMap());
}

export function wrapWithGate<TAgent extends AnyAgent>(
  agent: TAgent,
  gate: Gate,
  cache: WeakMap<AnyAgent, AnyAgent>,
): TAgent {
  const wrap = (original: AnyAgent): AnyAgent => {
    if (gates.get(original) === gate) return original;
    const cached = cache.get(original);
    if (cached) return cached;
    if (!(original instanceof Agent)) throw new TypeError('hexgate: expected an @openai/agents Agent');
    if (isSandboxAgent(original))
      throw new TypeError(
        `hexgate: sandbox agent '${original.name}' cannot be gated: its capabilities add their tools ` +
          '(exec_command, apply_patch...) when the run starts, outside the gated copy, so they would run undecided.',
      );
    // New arrays everywhere: `clone` would otherwise share the original's lists.
    const copy = original.clone({
      tools: [],
      handoffs: [],
      mcpServers: [...original.mcpServers],
      inputGuardrails: [...original.inputGuardrails],
      outputGuardrails: [...original.outputGuardrails],
    });
    // Registered before recursing, so handoff cycles (triage <-> billing) end here.
    cache.set(original, copy);
    gates.set(copy, gate);
    copy.tools = original.tools.map((tool) => gateTool(tool, copy, gate, wrap));
    copy.handoffs = original.handoffs.map((entry) => gateHandoff(entry, () => copy, wrap, gate));
    if (original.mcpServers.length > 0) gateMcpTools(copy, gate);
    forwardAgentHooks(original, copy);
    return copy;
  };
  return wrap(agent) as TAgent;
}

/**
 * The SDK's own test (`isSandboxAgent`, an own brand symbol set to true). The
 * symbol is not exported (and a second copy of the SDK would have another), so
 * it is recognised by its description.
 */
function isSandboxAgent(agent: AnyAgent): boolean {
  return Object.getOwnPropertySymbols(agent).some(
    (symbol) =>
      symbol.description === 'openai.agents.sandbox_agent' &&
      (agent as unknown as Record<symbol, unknown>)[symbol] === true,
  );
}

/**
 * Function tools are gated; agents used as tools are rebuilt from the gated
 * copy of their agent (so the tools inside are gated too) and then gated as a
 * call. The local shell, apply_patch and computer tools get gated executors.
 * Hosted tools (and a hosted shell) run at the provider and pass through
 * unchanged (see the README).
 */
function gateTool(tool: Tool<any>, owner: AnyAgent, gate: Gate, wrap: (a: AnyAgent) => AnyAgent): Tool<any> {
  switch (tool.type) {
    case 'shell':
      return gateShellTool(tool, owner.name, gate);
    case 'apply_patch':
      return gateApplyPatchTool(tool, owner.name, gate);
    case 'computer':
      return gateComputerTool(tool, owner.name, gate);
    case 'function':
      break;
    default:
      return tool;
  }
  const source = agentToolSource.of(tool);
  if (!source) {
    if (agentToolSource.looksLikeOne(tool))
      throw new TypeError(
        `hexgate: cannot find the agent behind agent tool '${tool.name}', so its tools could not be gated. ` +
          'Use HexgateRunner (it waits for the SDK registry under loaders such as tsx), or build the tool ' +
          'from a gated agent: wrapOpenAIAgent(inner, options).asTool({...}).',
      );
    return gateFunctionTool(tool, owner.name, gate);
  }
  // An agent tool built from an already gated agent (the escape hatch above) is kept as is.
  const gatedSource = gates.has(source) ? source : wrap(source);
  const base = gatedSource === source ? tool : rebuildAgentTool(tool, gatedSource);
  const gated = gateFunctionTool(base, owner.name, gate);
  agentToolSource.register(gated, gatedSource);
  return gated;
}

/**
 * A new `asTool` of the gated agent with the original tool's name,
 * description, parameters and settings. `asTool` options that live only in
 * the original's closure (customOutputExtractor, inputBuilder, runConfig,
 * runOptions, onStream) cannot be recovered: build such tools from the gated
 * agent yourself.
 */
function rebuildAgentTool(tool: FunctionTool<any, any, any>, gatedSource: AnyAgent): FunctionTool<any, any, any> {
  const fresh = gatedSource.asTool({
    toolName: tool.name,
    toolDescription: tool.description,
    ...(isDefaultAgentToolSchema(tool.parameters) ? {} : { parameters: tool.parameters as never }),
  });
  return { ...tool, invoke: fresh.invoke, on: (fresh as { on?: unknown }).on } as FunctionTool<any, any, any>;
}

let defaultSchema: string | undefined;
function isDefaultAgentToolSchema(parameters: unknown): boolean {
  defaultSchema ??= JSON.stringify(new Agent({ name: 'schema-probe' }).asTool({ toolDescription: '' }).parameters);
  return JSON.stringify(parameters) === defaultSchema;
}

/** MCP tools are listed per run through `getMcpTools`: the copy gates each one as it is listed. */
function gateMcpTools(copy: AnyAgent, gate: Gate): void {
  const list = copy.getMcpTools.bind(copy);
  const gated = new WeakMap<object, Tool<any>>();
  copy.getMcpTools = async (runContext, tracingParent) =>
    (await list(runContext, tracingParent)).map((tool) => {
      if (tool.type !== 'function') return tool;
      let copyOfTool = gated.get(tool);
      if (!copyOfTool) {
        copyOfTool = gateFunctionTool(tool, copy.name, gate);
        gated.set(tool, copyOfTool);
      }
      return copyOfTool;
    });
}

/**
 * Hooks the application registered on its agent (`agent.on('agent_start', ...)`)
 * keep firing. A tool start also tells the gated local tool which call it is
 * about to run (`call-starts.ts`), before any hook.
 */
function forwardAgentHooks(original: AnyAgent, copy: AnyAgent): void {
  const emit = copy.emit.bind(copy) as (type: string, ...args: unknown[]) => boolean;
  (copy as { emit: unknown }).emit = (type: string, ...args: unknown[]) => {
    if (type === 'agent_tool_start') noteCallStart(args);
    (original.emit as (type: string, ...args: unknown[]) => boolean)(type, ...args);
    return emit(type, ...args);
  };
}

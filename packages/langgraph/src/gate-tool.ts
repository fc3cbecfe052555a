/**
 * Puts the policy gate on a LangChain tool by overriding its `call` method:
 * `invoke`, `batch`, `stream` and the ToolNodes of LangGraph and langchain
 * all go through `call`, and unlike `invoke` it runs no schema parsing or
 * callback before the decision (the gate must stay synchronous up to
 * `interrupt()`, see gate.ts).
 *
 * `target` is the tool itself (gated in place) or an `Object.create(tool)`
 * copy that inherits everything else (name, schema, description...).
 */
import { InvalidOptionsError } from '@hexgate/core';
import type { StructuredToolInterface } from '@langchain/core/tools';
import { type PolicyGate, refusalMessage } from './gate.ts';

const GATED = Symbol.for('@hexgate/langgraph.gated');

type CallFn = (arg: unknown, config?: unknown, tags?: unknown) => Promise<unknown>;
type Gateable = StructuredToolInterface & { call: CallFn };

interface ToolCallInput {
  type: 'tool_call';
  id?: string;
  name: string;
  args: unknown;
}

function isToolCall(x: unknown): x is ToolCallInput {
  return typeof x === 'object' && x !== null && (x as { type?: unknown }).type === 'tool_call';
}

export function isGated(tool: unknown): boolean {
  return typeof tool === 'object' && tool !== null && (tool as Record<symbol, unknown>)[GATED] === true;
}

export function assertGateable(tool: unknown): asserts tool is Gateable {
  const t = tool as Partial<Gateable> | undefined;
  if (typeof t?.name !== 'string' || typeof t.invoke !== 'function' || typeof t.call !== 'function') {
    throw new InvalidOptionsError(
      '@hexgate/langgraph gates LangChain StructuredTool instances (tool(), DynamicStructuredTool, class tools); ' +
        `got ${typeof t?.name === 'string' ? `'${t.name}'` : String(tool)}`,
    );
  }
  if (isGated(tool)) {
    throw new InvalidOptionsError(`tool '${t.name}' is already gated by hexgate; gate each tool once`);
  }
}

export function installGate(target: object, original: Gateable, gate: PolicyGate): void {
  const originalCall = original.call;
  const name = original.name;
  const gatedCall: CallFn = async (arg, configArg, tags) => {
    // `invoke` moves a ToolCall into config.toolCall; a direct `call(toolCall)` passes it as `arg`.
    const config = (configArg && !Array.isArray(configArg) ? configArg : {}) as {
      configurable?: Record<string, unknown>;
      toolCall?: ToolCallInput;
      signal?: unknown;
    };
    const toolCall = isToolCall(arg) ? arg : config.toolCall;
    const raw = isToolCall(arg) ? arg.args : arg;
    const toolCallId = toolCall?.id;
    return gate({
      tool: name,
      // String-input tools (DynamicTool) take `{ input }`, which is also what the model sends them.
      args: typeof raw === 'string' ? { input: raw } : raw,
      toolCallId,
      configurable: config.configurable,
      signal: config.signal instanceof AbortSignal ? config.signal : undefined,
      run: (snapshot) =>
        originalCall.call(original, isToolCall(arg) ? { ...arg, args: snapshot } : snapshot, configArg, tags),
      // A ToolCall in gives a ToolMessage out, plain input a plain string, as LangChain tools do.
      refuse: (refusal) => (toolCallId ? refusalMessage(refusal, name, toolCallId) : JSON.stringify(refusal)),
    });
  };
  // Read-only and final: code that later reassigns or redefines `call` (a
  // patch, an instrumentation restoring the method it saw) gets a TypeError
  // instead of silently putting the ungated method back.
  Object.defineProperty(target, 'call', { value: gatedCall, configurable: false, writable: false });
  Object.defineProperty(target, GATED, { value: true });
}

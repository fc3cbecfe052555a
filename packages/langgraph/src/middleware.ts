/**
 * `policyMiddleware`: the same gate as a langchain v1 `createAgent`
 * middleware (`wrapToolCall`), for agents whose tools you do not want to
 * gate or copy. Use either this or gated tools on one agent, not both.
 *
 * No runtime import of `langchain` (an optional peer): a middleware is a
 * plain object carrying langchain's `Symbol.for('AgentMiddleware')` brand,
 * exactly what `createMiddleware` returns.
 */
import type { AgentMiddleware, ToolCallRequest } from 'langchain';
import { createPolicyGate, type PolicyGateOptions, refusalMessage } from './gate.ts';

export function policyMiddleware(options: PolicyGateOptions): AgentMiddleware {
  const gate = createPolicyGate(options);
  const wrapToolCall = (request: ToolCallRequest, handler: (r: ToolCallRequest) => unknown) => {
    const { toolCall } = request;
    const runtime = request.runtime as { configurable?: Record<string, unknown>; signal?: unknown } | undefined;
    return gate({
      tool: toolCall.name,
      args: toolCall.args,
      toolCallId: toolCall.id,
      configurable: runtime?.configurable,
      signal: runtime?.signal instanceof AbortSignal ? runtime.signal : undefined,
      run: async (args) => handler({ ...request, toolCall: { ...toolCall, args } }),
      refuse: (refusal) => refusalMessage(refusal, toolCall.name, toolCall.id ?? ''),
    });
  };
  return {
    [Symbol.for('AgentMiddleware')]: true,
    name: 'HexgatePolicy',
    wrapToolCall,
  } as unknown as AgentMiddleware;
}

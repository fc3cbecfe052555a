/**
 * `guardTools`: gated copies of LangChain tools, for graphs you build
 * yourself. The originals are not modified.
 */
import type { StructuredToolInterface } from '@langchain/core/tools';
import { createPolicyGate, type PolicyGateOptions } from './gate.ts';
import { assertGateable, installGate } from './gate-tool.ts';

/**
 * Returns a gated copy of each tool (same name, schema and description; the
 * copy inherits from the original). Build your ToolNode / agent from the
 * copies. The user comes from `configurable.hexgate.user` when set, else from
 * `runWithUser`.
 */
export function guardTools<T extends StructuredToolInterface>(tools: readonly T[], options: PolicyGateOptions): T[] {
  tools.forEach(assertGateable);
  const gate = createPolicyGate(options);
  return tools.map((tool) => {
    const copy = Object.create(tool) as T;
    installGate(copy, tool as never, gate);
    return copy;
  });
}

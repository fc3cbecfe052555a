/**
 * Gates one handoff. To the model a handoff is a tool call, so the policy
 * names it by its tool name: `transfer_to_<agent_name>` by default, or the
 * `toolNameOverride` given to `handoff(...)`.
 *
 * The SDK has no way to refuse a handoff from inside it, nor to pause one for
 * approval, so a blocked handoff is turned into a handoff back to the agent
 * that asked for it (`onInvokeHandoff` returns it), and the copy's input
 * filter replaces the transfer message with the decision text: the same agent
 * runs its next turn and sees `[policy_denied] ...` as the handoff's output.
 * `approval_required` handoffs use the `approvalHandler` when there is one and
 * are blocked otherwise.
 *
 * Tracing: an allowed handoff's `onInvokeHandoff` (the application's
 * `onHandoff`) runs inside `traceToolCall`; a blocked one is a `recordDecision`.
 */
import { type ApprovalInfo, recordDecision, traceToolCall } from '@hexgate/tracing';
import { type Agent, getHandoff, type Handoff, type HandoffInputData, RunHandoffOutputItem } from '@openai/agents';
import { askInline } from './approvals.ts';
import { type Gate, resolveUser, textFor } from './options.ts';

type AnyAgent = Agent<any, any>;

export function gateHandoff(
  entry: AnyAgent | Handoff<any, any>,
  /** The gated agent that owns this handoff (a thunk: it is still being built). */
  owner: () => AnyAgent,
  /** Gates a target agent (cached, so cycles between agents terminate). */
  wrap: (agent: AnyAgent) => AnyAgent,
  gate: Gate,
): Handoff<any, any> {
  const original = getHandoff(entry);
  // Set in onInvokeHandoff, read by the input filter the SDK calls right after, for the same run.
  const blocked = new WeakMap<object, string>();

  return original.clone({
    agent: wrap(original.agent),
    onInvokeHandoff: async (runContext, input) => {
      const { decision, args } = gate.enforcer.decide({
        tool: original.toolName,
        // Handoffs without an input schema may arrive with no arguments at all.
        args: input === '' || input === undefined ? '{}' : input,
        agentName: owner().name,
        user: resolveUser(runContext),
      });
      let approval: ApprovalInfo | undefined;
      if (decision.effective === 'approval_required' && args !== undefined)
        approval = await askInline(gate, decision, args);
      const options = approval ? { approval } : {};
      if (args === undefined || (decision.effective !== 'allow' && approval?.status !== 'approved')) {
        recordDecision(decision, args ?? input, options); // no snapshot: the tracer parses the raw text itself
        blocked.set(runContext, textFor(gate, decision));
        return owner();
      }
      // The app's `onHandoff` runs with the decided snapshot; the target it returns is gated too.
      const invoke = () => original.onInvokeHandoff(runContext, JSON.stringify(args));
      return wrap(await traceToolCall(decision, args, invoke, options));
    },
    inputFilter: (data: HandoffInputData) => {
      const text = blocked.get(data.runContext as object);
      if (text === undefined) {
        const filter = original.inputFilter ?? gate.options.handoffInputFilter;
        return filter ? filter(data) : data;
      }
      blocked.delete(data.runContext as object);
      return {
        ...data,
        newItems: data.newItems.map((item) =>
          item instanceof RunHandoffOutputItem
            ? new RunHandoffOutputItem({ ...item.rawItem, output: text } as never, item.sourceAgent, item.targetAgent)
            : item,
        ),
      };
    },
  });
}

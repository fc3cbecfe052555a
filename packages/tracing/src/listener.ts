/**
 * Decision tracing for code that does not go through an adapter (for example
 * `enforcer.guard(fn)` or a hand-written gate): pass the listener to
 * `createEnforcer({ onDecision, onApproval })`. Every decision becomes a
 * `policy:<tool>` guardrail observation (the listener cannot know whether the
 * tool then ran: `toolStatus: 'unknown'`), every approval event an
 * `approval:<status>` event observation. Do not combine it with an adapter
 * that already calls `traceToolCall`/`recordDecision`, or decisions appear twice.
 */

import type { ApprovalEvent, DecisionEvent } from '@hexgate/core';
import { startObservation } from '@langfuse/tracing';
import { isTracingEnabled } from './enabled.ts';
import { safely } from './safe.ts';
import { record, toolLabel, withCallerAttributes } from './trace-tool-call.ts';

export interface TracingListener {
  readonly onDecision: (event: DecisionEvent) => void;
  readonly onApproval: (event: ApprovalEvent) => void;
}

export function createTracingListener(): TracingListener {
  return Object.freeze({
    onDecision(event: DecisionEvent) {
      if (!isTracingEnabled()) return;
      record(event.decision, event.args, { approval: undefined, toolRan: undefined }, event.user);
    },
    onApproval(event: ApprovalEvent) {
      if (!isTracingEnabled()) return;
      safely('recording an approval', () =>
        withCallerAttributes(event.decision, undefined, () => {
          const flagged = event.status === 'rejected' || event.status === 'expired';
          startObservation(
            `approval:${event.status}`,
            {
              level: flagged ? 'WARNING' : 'DEFAULT',
              ...(flagged && event.reason ? { statusMessage: event.reason } : {}),
              // Not the event's argsHash: a hash of the unredacted arguments
              // lets anyone who sees the trace test guesses of a short secret
              // among them (a PIN next to the visible amount). The decisionId
              // ties the event to its decision.
              metadata: {
                tool: toolLabel(event.decision),
                decisionId: event.decision.id,
                status: event.status,
                ...(event.approver ? { approver: event.approver } : {}),
                ...(event.reason ? { reason: event.reason } : {}),
              },
            },
            { asType: 'event' },
          );
        }),
      );
    },
  });
}

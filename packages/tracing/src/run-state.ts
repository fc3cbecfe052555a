/**
 * Per-run bookkeeping carried in the OpenTelemetry context, so each tool
 * observation can tell whether it sits inside a hexgate run (and which), and
 * the run observation can summarise its decisions when it ends.
 */

import type { Outcome } from '@hexgate/core';
import { type Context, context, createContextKey } from '@opentelemetry/api';

export interface RunState {
  readonly decisions: Record<Outcome, number>;
  toolsRan: number;
  toolErrors: number;
}

const RUN_KEY = createContextKey('@hexgate/tracing.run');

export function newRunState(): RunState {
  return { decisions: { allow: 0, deny: 0, approval_required: 0 }, toolsRan: 0, toolErrors: 0 };
}

export function withRunState(ctx: Context, state: RunState): Context {
  return ctx.setValue(RUN_KEY, state);
}

/** The innermost hexgate run in the active context, if any. */
export function activeRun(): RunState | undefined {
  return context.active().getValue(RUN_KEY) as RunState | undefined;
}

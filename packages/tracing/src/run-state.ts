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
  /**
   * The arguments of the run's calls (at most MAX_RUN_ARGS), so the secrets
   * among them can be cut out of the run's error message if it fails: a
   * tool's error, quoting its input, often becomes the run's error.
   */
  readonly args: unknown[];
}

export const MAX_RUN_ARGS = 256;

/** Remembers a call's arguments in its run (see RunState.args). */
export function rememberArgs(run: RunState | undefined, args: unknown): void {
  if (run && args !== undefined && run.args.length < MAX_RUN_ARGS) run.args.push(args);
}

const RUN_KEY = createContextKey('@hexgate/tracing.run');

export function newRunState(): RunState {
  return { decisions: { allow: 0, deny: 0, approval_required: 0 }, toolsRan: 0, toolErrors: 0, args: [] };
}

export function withRunState(ctx: Context, state: RunState): Context {
  return ctx.setValue(RUN_KEY, state);
}

/** The innermost hexgate run in the active context, if any. */
export function activeRun(): RunState | undefined {
  return context.active().getValue(RUN_KEY) as RunState | undefined;
}

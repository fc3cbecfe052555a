/**
 * Approvals: the book that binds each requested approval to the exact
 * arguments decided, the inline `approvalHandler` path, and the bookkeeping a
 * resumed run needs for calls the application rejected.
 */
import { askApproval, type Decision, type FrozenArgs, hashArgs } from '@hexgate/core';
import { type ApprovalInfo, recordDecision } from '@hexgate/tracing';
import type { RunState, RunToolApprovalItem } from '@openai/agents';
import { carriedUser, type Gate, resolveUser, textFor } from './options.ts';

/** An approval the SDK was asked for, bound to the arguments it was decided on. */
export interface Binding {
  readonly decision: Decision;
  readonly args: FrozenArgs;
  readonly hash: string;
}

// Requests nobody ever answers would otherwise pile up; the oldest go first.
const MAX_PENDING = 10_000;

/**
 * In-memory, per gate. Keyed by user, tool name and call id (the SDK keys its
 * approvals and error formatter by tool name and call id): one user's
 * approval never covers another user's call, even if call ids collide.
 */
export class ApprovalBook {
  readonly #pending = new Map<string, Binding>();
  readonly #rejections = new Map<string, string>();

  static key(userId: string | undefined, toolName: string, callId: string): string {
    return `${userId ?? ''}\u0000${toolName}\u0000${callId}`;
  }

  bind(key: string, binding: Binding): void {
    setBounded(this.#pending, key, binding);
  }

  peek(key: string): Binding | undefined {
    return this.#pending.get(key);
  }

  take(key: string): Binding | undefined {
    const binding = this.#pending.get(key);
    this.#pending.delete(key);
    return binding;
  }

  /** The model text for a call the application rejected, consumed by the run's error formatter. */
  noteRejection(key: string, text: string): void {
    setBounded(this.#rejections, key, text);
  }

  takeRejection(key: string): string | undefined {
    const text = this.#rejections.get(key);
    this.#rejections.delete(key);
    return text;
  }
}

/** Sets `key` as the newest entry, dropping the oldest when the map is full. */
function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_PENDING) map.delete(map.keys().next().value as string);
}

/**
 * The part of an approval binding's key that names the call: the call id, and
 * for a batch (`perArgs`: a computer call's actions, each decided on its own)
 * the hash of one entry's arguments too.
 */
export function approvalSlot(callId: string, args: unknown, perArgs: boolean): string {
  return perArgs ? `${callId}\u0000${tryHash(args) ?? 'unhashable'}` : callId;
}

/** The actions of a computer call, in the order the SDK runs them (its own rule). */
export function computerActions(toolCall: { readonly action?: unknown; readonly actions?: unknown }): unknown[] {
  if (Array.isArray(toolCall.actions) && toolCall.actions.length > 0) return toolCall.actions;
  return toolCall.action ? [toolCall.action] : [];
}

/** Hash of arguments, or undefined when they cannot be hashed (never throws). */
export function tryHash(args: unknown): string | undefined {
  try {
    return hashArgs(args);
  } catch {
    return undefined;
  }
}

/**
 * The `approvalHandler` path: report, ask (only a literal `true` approves),
 * report the answer. Returns the answer (approved only when `status` is
 * 'approved'), or undefined when there is no handler to ask.
 */
export async function askInline(
  gate: Gate,
  decision: Decision,
  args: FrozenArgs,
  signal?: AbortSignal,
): Promise<ApprovalInfo | undefined> {
  const handler = gate.options.approvalHandler;
  if (!handler) return undefined;
  const { enforcer } = gate;
  enforcer.reportApproval({ status: 'requested', decision, args });
  const answer = await askApproval(
    handler,
    { decision, args, argsHash: tryHash(args) ?? 'unhashable' },
    { timeoutMs: gate.options.approvalTimeoutMs, ...(signal ? { signal } : {}) },
  );
  const { status, reason } = answer;
  enforcer.reportApproval({ status, decision, args, reason });
  return { status, reason };
}

/** What an interrupted call was decided on: one payload, or a computer call's batch of actions. */
interface InterruptedCall {
  readonly callId: string;
  readonly payloads: readonly unknown[];
  /** Several decisions under one call id: bindings are keyed per payload (see `approvalSlot`). */
  readonly perArgs: boolean;
}

function interruptedCall(raw: RunToolApprovalItem['rawItem']): InterruptedCall | undefined {
  switch (raw.type) {
    case 'function_call':
      return { callId: raw.callId, payloads: [raw.arguments], perArgs: false };
    case 'shell_call':
      return { callId: raw.callId, payloads: [raw.action], perArgs: false };
    case 'apply_patch_call':
      return { callId: raw.callId, payloads: [raw.operation], perArgs: false };
    case 'computer_call':
      return { callId: raw.callId, payloads: computerActions(raw), perArgs: true };
    default:
      return undefined; // hosted tools: approved at the provider, nothing of ours
  }
}

/**
 * Before a resumed run, for every interruption of this gate the application
 * answered through `state.approve(...)` / `state.reject(...)`:
 * - the request made in another process (no binding in memory, e.g. a
 *   RunState resumed elsewhere) is decided again on the arguments the reviewer
 *   saw, and bound to them, so the gated executor can check the call against it.
 *   Only for the user the run state carries (who asked), and only when that is
 *   the user resuming: without one, nothing tells that the resuming user asked
 *   (in this process the request may be bound to another user), so nothing is bound;
 * - a rejected call is reported as `rejected` and its model text queued for the
 *   run's `toolErrorFormatter`: the SDK never calls the tool of a rejected call,
 *   so this is the only place that sees it.
 */
export function settleAnswers(gate: Gate, state: RunState<any, any>, owns: (agent: unknown) => boolean): void {
  const context = state._context;
  for (const item of state.getInterruptions()) {
    const call = interruptedCall(item.rawItem);
    if (!call || !owns(item.agent)) continue;
    const toolName = item.name ?? item.toolName ?? (item.rawItem as { name?: string }).name;
    if (!toolName) continue;
    const answer = context.isToolApproved({ toolName, callId: call.callId });
    if (answer === undefined) continue; // unanswered: the SDK pauses on it again
    const user = resolveUser(context);
    // Who asked, as the state carries it: an approval never transfers to another user, nor from an unknown one.
    const askedBySameUser = user !== undefined && carriedUser(context)?.id === user.id;
    const bindings = new Map<string, Binding>(); // identical actions of a computer call share one
    for (const payload of call.payloads) {
      const key = ApprovalBook.key(user?.id, toolName, approvalSlot(call.callId, payload, call.perArgs));
      let binding = gate.book.peek(key);
      if (!binding) {
        // A rejection can only stop a call: it is settled whoever resumes.
        if (answer !== false && !askedBySameUser) continue;
        const again = gate.enforcer.decide({ tool: toolName, args: payload, agentName: item.agent.name, user });
        // Not a policy approval (the tool's own `needsApproval`): nothing of ours to settle.
        if (again.decision.effective !== 'approval_required' || !again.args) continue;
        binding = { decision: again.decision, args: again.args, hash: tryHash(again.args) ?? '' };
        gate.book.bind(key, binding);
      }
      bindings.set(key, binding);
    }
    if (answer !== false || bindings.size === 0) continue;
    const rejection = { status: 'rejected', reason: 'rejected through the run state' } as const;
    for (const [key, binding] of bindings) {
      gate.book.take(key);
      gate.enforcer.reportApproval({ ...rejection, decision: binding.decision, args: binding.args });
      // The tool never runs, and this resumed run is the only one that knows: its trace gets the guardrail.
      recordDecision(binding.decision, binding.args, { approval: rejection });
    }
    const [first] = bindings.values();
    gate.book.noteRejection(ApprovalBook.key(user?.id, toolName, call.callId), textFor(gate, first!.decision));
  }
}

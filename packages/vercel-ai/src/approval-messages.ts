/**
 * Reads approval answers out of the message history the SDK hands to hooks,
 * tools and the model. Written against the shape shared by `ModelMessage[]`
 * and the provider prompt (role + content parts), so one reader serves both.
 */

interface Part {
  readonly type: string;
  readonly toolCallId?: string;
  readonly approvalId?: string;
  readonly approved?: boolean;
  readonly reason?: string;
  readonly output?: { readonly type?: string; readonly reason?: string };
}
type Message = { readonly role: string; readonly content: unknown };

const partsOf = (message: Message | undefined): readonly Part[] =>
  Array.isArray(message?.content) ? (message.content as Part[]) : [];

/** approvalId -> toolCallId, from the approval requests in assistant messages. */
function requestedCalls(messages: readonly Message[]): Map<string, string> {
  const calls = new Map<string, string>();
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const part of partsOf(message)) {
      if (part.type === 'tool-approval-request' && part.approvalId && part.toolCallId) {
        calls.set(part.approvalId, part.toolCallId);
      }
    }
  }
  return calls;
}

/**
 * The approval the user just granted for `toolCallId`, when these messages
 * resume a run (the SDK only honours answers in the last, `tool`, message).
 */
export function grantedApproval(
  messages: readonly Message[],
  toolCallId: string,
): { readonly reason: string | undefined } | undefined {
  const last = messages.at(-1);
  if (last?.role !== 'tool') return undefined;
  const calls = requestedCalls(messages);
  for (const part of partsOf(last)) {
    if (
      part.type === 'tool-approval-response' &&
      part.approved === true &&
      calls.get(part.approvalId ?? '') === toolCallId
    ) {
      return { reason: part.reason };
    }
  }
  return undefined;
}

/**
 * How many tool calls in the history carry `toolCallId`. The SDK resolves an
 * approval to the LAST call with the approval's `toolCallId`, so when a model
 * reuses an id, the call that would run is not necessarily the one whose
 * arguments the human saw next to the approval request.
 */
export function callsWithId(messages: readonly Message[], toolCallId: string): number {
  let count = 0;
  for (const message of messages) {
    if (message.role !== 'assistant') continue;
    for (const part of partsOf(message)) {
      if (part.type === 'tool-call' && part.toolCallId === toolCallId) count++;
    }
  }
  return count;
}

/** Every call the history shows as refused: a `false` approval answer or an `execution-denied` result. */
export function refusedCalls(messages: readonly Message[]): Map<string, string | undefined> {
  const refused = new Map<string, string | undefined>();
  const calls = requestedCalls(messages);
  for (const message of messages) {
    for (const part of partsOf(message)) {
      if (part.type === 'tool-approval-response' && part.approved === false) {
        const id = calls.get(part.approvalId ?? '');
        if (id) refused.set(id, part.reason);
      } else if (part.type === 'tool-result' && part.output?.type === 'execution-denied' && part.toolCallId) {
        refused.set(part.toolCallId, refused.get(part.toolCallId) ?? part.output.reason);
      }
    }
  }
  return refused;
}

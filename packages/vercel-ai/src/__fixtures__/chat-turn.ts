/**
 * Test support: one chat turn through generateText or streamText, read the
 * same way for both, and the history that answers its approval request.
 */
import { generateText, type LanguageModel, type ModelMessage, stepCountIs, streamText, type ToolSet } from 'ai';
import type { hexgateToolApproval } from '../index.ts';

export type Kind = 'generate' | 'stream';

export interface TurnSettings {
  readonly model: LanguageModel;
  readonly tools: ToolSet;
  readonly toolApproval?: ReturnType<typeof hexgateToolApproval>;
}

/** What a turn gives back, the same for generateText and streamText. */
export interface TurnResult {
  readonly content: readonly { readonly type: string }[];
  /** The messages sent, then the response's: the history a resume continues. */
  readonly history: ModelMessage[];
  readonly text: string;
}

/**
 * One turn as an app writes it. `around` wraps the SDK call (e.g.
 * `traceHexgateRun`); a stream is read only after it returned.
 */
export async function runTurn(
  kind: Kind,
  settings: TurnSettings,
  messages: ModelMessage[],
  around: <R>(call: () => R) => R = (call) => call(),
): Promise<TurnResult> {
  const options = { ...settings, messages, stopWhen: stepCountIs(4) };
  if (kind === 'generate') {
    const r = await around(() => generateText(options));
    return { content: r.content, history: [...messages, ...r.response.messages], text: r.text };
  }
  // onError: failures reach the test through the result; keep the SDK from logging them.
  const r = around(() => streamText({ ...options, onError: () => {} }));
  return { content: await r.content, history: [...messages, ...(await r.response).messages], text: await r.text };
}

/** The history that answers the approval request of `turn`, as useChat sends it. */
export function answerApproval(turn: TurnResult, approved: boolean, reason?: string): ModelMessage[] {
  // The request a human answers (a policy denial is an automatic, already answered one).
  const request = turn.content.find(
    (p) => p.type === 'tool-approval-request' && !(p as { isAutomatic?: boolean }).isAutomatic,
  ) as { approvalId: string } | undefined;
  if (!request) throw new Error('no approval request');
  return [
    ...turn.history,
    {
      role: 'tool',
      content: [
        { type: 'tool-approval-response', approvalId: request.approvalId, approved, ...(reason ? { reason } : {}) },
      ],
    },
  ];
}

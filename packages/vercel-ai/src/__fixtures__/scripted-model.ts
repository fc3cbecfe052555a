/**
 * Test support: a scripted `MockLanguageModelV4` (ai/test) that plays the
 * same turns through `doGenerate` and `doStream`, plus readers for what the
 * model received.
 */
import { MockLanguageModelV4 } from 'ai/test';

type MockOptions = NonNullable<ConstructorParameters<typeof MockLanguageModelV4>[0]>;
type GenerateResult = Extract<MockOptions['doGenerate'], { content: unknown }>;
type StreamResult = Extract<MockOptions['doStream'], { stream: unknown }>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;
export type CallOptions = MockLanguageModelV4['doGenerateCalls'][number];

export interface ScriptedCall {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}
/** One model turn: tool calls, or a final text. */
export type Turn = { readonly calls: readonly ScriptedCall[] } | { readonly text: string };

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

export const call = (id: string, name: string, input: unknown): ScriptedCall => ({ id, name, input });
export const calls = (...list: ScriptedCall[]): Turn => ({ calls: list });
export const text = (value: string): Turn => ({ text: value });

function generateResult(turn: Turn): GenerateResult {
  if ('text' in turn) {
    return {
      content: [{ type: 'text', text: turn.text }],
      finishReason: { unified: 'stop', raw: undefined },
      usage,
      warnings: [],
    };
  }
  return {
    content: turn.calls.map((c) => ({
      type: 'tool-call' as const,
      toolCallId: c.id,
      toolName: c.name,
      input: JSON.stringify(c.input),
    })),
    finishReason: { unified: 'tool-calls', raw: undefined },
    usage,
    warnings: [],
  };
}

function streamResult(turn: Turn): StreamResult {
  const result = generateResult(turn);
  const parts: StreamPart[] = [{ type: 'stream-start', warnings: [] }];
  for (const part of result.content) {
    if (part.type === 'text') {
      parts.push(
        { type: 'text-start', id: 't' },
        { type: 'text-delta', id: 't', delta: part.text },
        { type: 'text-end', id: 't' },
      );
    } else if (part.type === 'tool-call') {
      parts.push(part);
    }
  }
  parts.push({ type: 'finish', finishReason: result.finishReason, usage });
  return { stream: ReadableStream.from(parts) };
}

/** A model that answers each call with the next turn (generate or stream). */
export function scriptedModel(...turns: Turn[]): MockLanguageModelV4 {
  return new MockLanguageModelV4({ doGenerate: turns.map(generateResult), doStream: turns.map(streamResult) });
}

/** Every call the model received, generate and stream alike. */
export function received(model: MockLanguageModelV4): CallOptions[] {
  return [...model.doGenerateCalls, ...model.doStreamCalls];
}

/** The tool results in what the model received on call `index`. */
export interface SentToolResult {
  readonly toolCallId: string;
  readonly toolName: string;
  readonly output: { readonly type: string; readonly value?: unknown; readonly reason?: string };
}

export function toolResultsSent(model: MockLanguageModelV4, index: number): SentToolResult[] {
  const prompt = received(model)[index]?.prompt ?? [];
  return prompt.flatMap((message) =>
    message.role === 'tool'
      ? message.content.flatMap((part) =>
          part.type === 'tool-result'
            ? [{ toolCallId: part.toolCallId, toolName: part.toolName, output: part.output }]
            : [],
        )
      : [],
  );
}

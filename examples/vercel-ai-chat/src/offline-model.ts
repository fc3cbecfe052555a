/**
 * A tiny rule-based stand-in for an LLM, built on the SDK's own
 * `MockLanguageModelV4` (ai/test), so the example runs with no key and no
 * network. It reads the last message: a user request becomes a tool call, a
 * tool result becomes a sentence about it.
 */
import { MockLanguageModelV4 } from 'ai/test';

type StreamResult = Awaited<ReturnType<MockLanguageModelV4['doStream']>>;
type CallOptions = Parameters<MockLanguageModelV4['doStream']>[0];
type StreamPart = StreamResult['stream'] extends ReadableStream<infer P> ? P : never;

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

/** What the scripted "model" does for a user message. */
function plan(request: string): { tool: string; input: object } | undefined {
  const order = request.match(/PUBLIC-\d+/)?.[0] ?? 'PUBLIC-1';
  const amount = Number(request.match(/(\d+) (USD|EUR)/)?.[1] ?? 0);
  if (/wire/i.test(request)) return { tool: 'wire_transfer', input: { iban: 'DE89370400440532013000', amount } };
  if (/refund/i.test(request)) return { tool: 'refund_order', input: { order_id: order, amount, currency: 'USD' } };
  if (/order/i.test(request)) return { tool: 'get_order', input: { order_id: order } };
  return undefined;
}

function lastText(options: CallOptions): { role: string; text: string } {
  const last = options.prompt.at(-1);
  if (!last) return { role: 'user', text: '' };
  if (last.role === 'tool') {
    const result = last.content.find((p) => p.type === 'tool-result');
    const output = result?.output;
    if (output?.type === 'execution-denied')
      return { role: 'tool', text: `Sorry, I can't do that: ${output.reason ?? 'denied'}` };
    if (output?.type === 'text' || output?.type === 'error-text')
      return { role: 'tool', text: `Done. ${output.value}` };
    return { role: 'tool', text: 'Done.' };
  }
  const parts = typeof last.content === 'string' ? [] : last.content;
  return { role: last.role, text: parts.map((p) => ('text' in p ? p.text : '')).join(' ') };
}

function respond(options: CallOptions): StreamPart[] {
  const { role, text } = lastText(options);
  const step = role === 'user' ? plan(text) : undefined;
  const parts: StreamPart[] = [{ type: 'stream-start', warnings: [] }];
  if (step) {
    const toolCallId = `call-${options.prompt.length}`;
    parts.push({ type: 'tool-call', toolCallId, toolName: step.tool, input: JSON.stringify(step.input) });
    parts.push({ type: 'finish', finishReason: { unified: 'tool-calls', raw: undefined }, usage });
  } else {
    const answer = role === 'user' ? 'How can I help?' : text;
    parts.push(
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: answer },
      { type: 'text-end', id: 't' },
    );
    parts.push({ type: 'finish', finishReason: { unified: 'stop', raw: undefined }, usage });
  }
  return parts;
}

export function offlineModel(): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    modelId: 'offline-support-model',
    doStream: async (options) => ({ stream: ReadableStream.from(respond(options)) }),
  });
}

/**
 * What the HTTP upstream needs to see of a POST's response stream that the
 * SDK transport keeps to itself: when it ended or broke, and which requests
 * it was carrying the answers for.
 */
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';

/** Passes a response body through, calling `onEnd` once one macrotask after it ended or broke. */
export function watchStream(response: Response, onEnd: (how: 'ended' | 'dropped') => void): Response {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  // The transport reads the body through promise-based streams (decoder, SSE parser): by the next
  // macrotask it has handed every message the body carried to onmessage.
  const ended = (how: 'ended' | 'dropped') => setTimeout(() => onEnd(how), 0);
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        controller.error(e);
        ended('dropped');
        return;
      }
      if (chunk.done) {
        controller.close();
        ended('ended');
      } else {
        controller.enqueue(chunk.value);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** The ids of the requests in a POST body the transport serialized (one message or a batch). */
export function requestIds(body: unknown): RequestId[] {
  if (typeof body !== 'string') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  return (Array.isArray(parsed) ? parsed : [parsed]).flatMap((m: { method?: unknown; id?: unknown }) =>
    typeof m?.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number') ? [m.id] : [],
  );
}

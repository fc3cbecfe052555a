/**
 * MCP's stdio framing (one JSON-RPC message per line) over any pair of
 * streams, using the SDK's own parser. Messages are always re-serialized from
 * the parsed value, never forwarded as raw text: what the proxy decided on
 * (e.g. the last of two duplicate keys) is exactly what the server receives.
 */
import type { Readable } from 'node:stream';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Calls `onMessage` for every message read from `stream`; returns a function that stops reading. */
export function readMessages(
  stream: Readable,
  onMessage: (message: JSONRPCMessage) => void,
  onError: (error: Error) => void,
): () => void {
  const buffer = new ReadBuffer();
  const onData = (chunk: Buffer | string) => {
    try {
      buffer.append(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (e) {
      onError(e as Error); // over the size limit: the buffer was dropped
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = buffer.readMessage();
      } catch (e) {
        onError(e as Error); // one bad line; keep reading the next ones
        continue;
      }
      if (message === null) return;
      onMessage(message);
    }
  };
  stream.on('data', onData);
  return () => {
    stream.off('data', onData);
  };
}

/** Anything with `write(string)`: a Writable, `process.stdout`, a CLI's output stream. */
export interface TextSink {
  write(chunk: string): unknown;
}

export function writeMessage(stream: TextSink, message: JSONRPCMessage): void {
  // A closed stream (the peer hung up) drops the message instead of throwing.
  if ((stream as { writable?: boolean }).writable === false) return;
  stream.write(serializeMessage(message));
}

/**
 * The proxy's server side, whatever carries it: a child process over stdio or
 * a remote server over Streamable HTTP. `runMcpProxy` only relays messages
 * between the client, the gateway and one of these.
 */
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface Upstream {
  /** Delivers a message to the server. Never throws: a request that cannot be delivered is answered with an error. */
  send(message: JSONRPCMessage): void;
  /** The client hung up: let the server finish (stdio) or end the session (HTTP). */
  end(): void;
  /** The proxy was told to stop (its signal aborted). */
  stop(): void;
  /** Resolves (never rejects) with the proxy's exit code once the server is gone or the session is over. */
  readonly exited: Promise<number>;
}

export interface UpstreamHooks {
  /** Everything the server sends, and the error answers the upstream makes for requests the server can no longer answer. */
  readonly onMessage: (message: JSONRPCMessage) => void;
  /** One line on the proxy's stderr. */
  readonly log: (line: string) => void;
}

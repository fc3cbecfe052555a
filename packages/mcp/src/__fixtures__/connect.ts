/**
 * A real MCP `Client` talking to a gated server in-process, and the identity
 * side of a server: `authInfo` stands for the token an HTTP auth middleware
 * verified, and `resolveUser` is how the tests' servers read the caller from it.
 */
import type { User } from '@hexgate/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Roles from the verified token's scopes, the user's own session from the token's extra data; never from tool arguments. */
export const resolveUser = (extra: { authInfo?: AuthInfo }): User | undefined =>
  extra.authInfo
    ? {
        id: extra.authInfo.clientId,
        roles: extra.authInfo.scopes,
        ...(typeof extra.authInfo.extra?.sessionId === 'string' ? { sessionId: extra.authInfo.extra.sessionId } : {}),
      }
    : undefined;

const opened = new Set<Client>();

/**
 * Connects a Client over InMemoryTransport to an `McpServer` or a low-level
 * `Server`. `authInfo` is attached to every request, as an HTTP auth
 * middleware would (or picked per message, for several callers on one server); `sessionId` is the transport's MCP session id (what
 * Streamable HTTP puts in `extra.sessionId`).
 */
export async function connect(
  server: { connect(transport: Transport): Promise<void> },
  options: { authInfo?: AuthInfo | ((message: JSONRPCMessage) => AuthInfo | undefined); sessionId?: string } = {},
): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const { authInfo, sessionId } = options;
  if (authInfo) {
    // A function picks the token per message: several callers sharing one server connection.
    const tokenFor = typeof authInfo === 'function' ? authInfo : () => authInfo;
    const send = clientSide.send.bind(clientSide);
    clientSide.send = (message, sendOptions) => {
      const token = tokenFor(message);
      return send(message, token ? { ...sendOptions, authInfo: token } : sendOptions);
    };
  }
  if (sessionId) serverSide.sessionId = sessionId;
  await server.connect(serverSide);
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  await client.connect(clientSide);
  opened.add(client);
  return client;
}

/** Closes every client `connect` opened (for `afterEach`). */
export async function closeClients(): Promise<void> {
  const clients = [...opened];
  opened.clear();
  await Promise.all(clients.map((c) => c.close()));
}

/** The text of a tool result's first content block. */
export const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text;

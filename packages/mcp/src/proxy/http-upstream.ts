/**
 * A remote MCP server over Streamable HTTP, through the SDK's own
 * `StreamableHTTPClientTransport` (session id, SSE streams, the
 * protocol-version header, same-origin redirects). What a relay needs on top:
 * every request it forwards gets an answer. When the server cannot answer any
 * more (an HTTP error, a response stream that ends or breaks first, a server
 * that cannot be reached), the proxy answers the request itself with a
 * JSON-RPC error: the client never waits forever, and never takes a call that
 * was lost for one that ran. Header values are never logged nor sent to the client.
 *
 * Exit codes: 0 once the client hung up or the proxy was stopped (the session
 * is ended with DELETE), 1 when the server failed for good: unreachable, or
 * the session or credentials were refused (HTTP 401, 403, 404).
 */
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { redact, secretsOf } from './header-secrets.ts';
import { requestIds, watchStream } from './response-watch.ts';
import type { Upstream, UpstreamHooks } from './upstream.ts';

export interface HttpServer {
  readonly url: URL;
  /** Sent on every request to the server (e.g. `Authorization`). */
  readonly headers: Readonly<Record<string, string>>;
}

/** How long ending the session (DELETE) may take once the client hung up. */
const END_SESSION_MS = 5_000;
/** The server refused the session or the credentials: every later request would be refused too. */
const FATAL_STATUS = new Set([401, 403, 404]);

export function startHttpUpstream(server: HttpServer, hooks: UpstreamHooks): Upstream {
  const { url, headers } = server;
  const where = `${url.origin}${url.pathname}`; // no query: it may carry a key
  const secrets = secretsOf(headers);
  // An error's text may quote a header value (e.g. a server echoing it): redacted before the log and the client see it.
  const hide = (text: string) => redact(text, secrets);
  const log = (line: string) => hooks.log(hide(line));
  /** Requests sent and not answered yet, by id: their method. */
  const pending = new Map<RequestId, string>();
  /** Errors already reported (the transport reports some twice, and send failures also reject). */
  const seen = new WeakSet<object>();
  /** 'closing': ending the session after the client left; 'closed': nothing more goes out or comes in. */
  let state: 'open' | 'closing' | 'closed' = 'open';
  /** Notifications and responses in flight: a later message waits for them, so order is kept (initialized first). */
  let ordered: Promise<unknown> = Promise.resolve();
  let exit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    exit = resolve;
  });

  /** The proxy's own error answer to a request the server will not answer; false if it was answered already. */
  const answerError = (id: RequestId, code: number, reason: string): boolean => {
    const method = pending.get(id);
    if (!pending.delete(id)) return false;
    hooks.onMessage({
      jsonrpc: '2.0',
      id,
      error: { code, message: hide(`hexgate mcp proxy: ${method} not answered: ${reason}`) },
    });
    return true;
  };
  const answer = (id: RequestId, code: number, reason: string) => {
    if (answerError(id, code, reason)) log(`answered request ${JSON.stringify(id)} with an error: ${reason}`);
  };

  const closeTransport = () => {
    void transport.close();
    // A failed stream reconnection schedules its next attempt after this close; closing again clears it.
    setImmediate(() => void transport.close());
  };

  /** The server is gone for good: answer everything still waiting, then exit 1. */
  const fail = (reason: string) => {
    if (state !== 'open') return;
    const waiting = pending.size > 0 ? `; answered ${pending.size} pending request(s) with an error` : '';
    log(`the server at ${where} failed: ${reason}${waiting}; exiting`);
    for (const id of [...pending.keys()]) answerError(id, ErrorCode.ConnectionClosed, reason);
    state = 'closed';
    closeTransport();
    exit(1);
  };

  /** The client left or the proxy was stopped: end the session (DELETE), then exit 0. */
  const shutdown = async () => {
    if (state !== 'open') return;
    state = 'closing';
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      transport.terminateSession().then(
        () => undefined,
        (e: unknown) => e,
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('timed out'), END_SESSION_MS);
      }),
    ]);
    clearTimeout(timer);
    if (ended !== undefined) log(`could not end the session: ${describe(ended)}`);
    state = 'closed';
    closeTransport();
    exit(0);
  };

  /**
   * The transport's fetch, watched: a server that cannot be reached, or that
   * refuses the session or the credentials, fails the upstream; and a response
   * stream's requests are answered if the stream ends or breaks before their
   * answers came (the SDK would leave them waiting).
   */
  const watchedFetch: FetchLike = async (target, init) => {
    if (state === 'closed' || (state === 'closing' && init?.method !== 'DELETE')) {
      throw new Error('the proxy closed its connection to the server');
    }
    let response: Response;
    try {
      response = await fetch(target, init);
    } catch (e) {
      // Refused, reset or unresolvable: the server is gone (a call on it may or may not have run).
      if (!init?.signal?.aborted) fail(`connection failed: ${describe(e)}`);
      throw e;
    }
    // Also on the GET stream's reconnection: a server that restarted and forgot the session answers 404 there.
    if (FATAL_STATUS.has(response.status) && init?.method !== 'DELETE') {
      fail(`the server answered HTTP ${response.status}`);
      return response;
    }
    const ids = init?.method === 'POST' ? requestIds(init.body) : [];
    const eventStream = response.headers.get('content-type')?.toLowerCase().startsWith('text/event-stream');
    if (ids.length === 0 || !response.ok || !eventStream || !response.body) return response;
    return watchStream(response, (how) => {
      for (const id of ids) {
        if (state === 'open' && pending.has(id)) {
          answer(
            id,
            ErrorCode.ConnectionClosed,
            how === 'dropped'
              ? 'the connection to the server dropped before it answered (the call may or may not have run)'
              : 'the server ended its response without answering',
          );
        }
      }
    });
  };

  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { ...headers } },
    fetch: watchedFetch,
  });
  transport.onmessage = (message) => {
    if (state !== 'open') return;
    if (!('method' in message) && message.id !== undefined) {
      const method = pending.get(message.id);
      if (!pending.delete(message.id)) {
        return log(`dropped an answer to request ${JSON.stringify(message.id)}: it was already answered`);
      }
      // The SDK's Client tells its transport the negotiated version; here the client is on the other side.
      const version = 'result' in message ? message.result.protocolVersion : undefined;
      if (method === 'initialize' && typeof version === 'string') transport.setProtocolVersion(version);
    }
    hooks.onMessage(message);
  };
  transport.onerror = (error) => {
    // Send failures are handled where send rejects; report the rest (stream and event errors) once.
    setImmediate(() => {
      if (state !== 'open' || seen.has(error)) return;
      seen.add(error);
      log(`server connection: ${describe(error)}`);
    });
  };
  void transport.start(); // only arms its abort controller: nothing is sent before the client's initialize

  const sendFailed = (message: JSONRPCMessage, error: unknown) => {
    if (typeof error === 'object' && error !== null) seen.add(error);
    if (state !== 'open') return; // failing or closing: already answered, or nobody is listening
    // A refused session or credentials failed the upstream already (watchedFetch); this is one request's failure.
    const reason = error instanceof StreamableHTTPError ? `the server answered HTTP ${error.code}` : describe(error);
    if ('method' in message && 'id' in message) return answer(message.id, ErrorCode.InternalError, reason);
    log(`could not deliver ${'method' in message ? message.method : 'a response'} to the server: ${reason}`);
  };

  return {
    send(message) {
      const isRequest = 'method' in message && 'id' in message;
      if (isRequest) {
        pending.set(message.id, message.method);
      } else if ('method' in message && message.method === 'notifications/cancelled') {
        // A cancelled request gets no answer from the server; none is owed any more.
        const cancelled = (message.params as { requestId?: RequestId } | undefined)?.requestId;
        if (cancelled !== undefined) pending.delete(cancelled);
      }
      if (state !== 'open') {
        // Answered after the caller's own bookkeeping (the gateway registers a request before sending it).
        if (isRequest) {
          const { id } = message;
          queueMicrotask(() => answerError(id, ErrorCode.ConnectionClosed, 'the connection to the server is closed'));
        }
        return;
      }
      const sending = ordered.then(() => transport.send(message));
      if (!isRequest) ordered = sending.catch(() => {});
      sending.catch((e: unknown) => sendFailed(message, e));
    },
    end: () => void shutdown(),
    stop: () => void shutdown(),
    exited,
  };
}

/** fetch's own error says only "fetch failed"; the cause says why (ECONNREFUSED, ...). */
function describe(error: unknown): string {
  const e = error as { message?: unknown; cause?: { message?: unknown } } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.cause?.message === 'string' ? `${message} (${e.cause.message})` : message;
}

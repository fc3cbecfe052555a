/**
 * Which server the proxy fronts, checked before anything is launched or
 * contacted: a command to launch (stdio) or the URL of a remote Streamable
 * HTTP server, exactly one of them. Messages never quote a header's value:
 * headers carry credentials.
 */
import { InvalidOptionsError } from '@hexgate/core';
import type { HttpServer } from './http-upstream.ts';
import type { StdioServer } from './stdio-upstream.ts';

export interface ProxyTargetOptions {
  readonly command?: string | undefined;
  readonly args?: readonly string[] | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly cwd?: string | undefined;
  readonly url?: string | URL | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

export type ProxyTarget = ({ readonly kind: 'stdio' } & StdioServer) | ({ readonly kind: 'http' } & HttpServer);

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers the SDK transport sets itself (session, protocol version, stream resumption, content negotiation). */
const RESERVED = new Set(['mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'content-type', 'accept']);

export function proxyTarget(options: ProxyTargetOptions): ProxyTarget {
  const hasCommand = options.command !== undefined;
  const hasUrl = options.url !== undefined;
  if (hasCommand === hasUrl) {
    throw new InvalidOptionsError(
      hasCommand
        ? 'runMcpProxy: give either `command` (a server to launch) or `url` (a remote server), not both'
        : 'runMcpProxy: `command` (a server to launch) or `url` (a remote Streamable HTTP server) is required',
    );
  }
  if (hasCommand) {
    if (typeof options.command !== 'string' || options.command === '') {
      throw new InvalidOptionsError('runMcpProxy: `command` must be a non-empty string');
    }
    if (options.headers !== undefined) {
      throw new InvalidOptionsError('runMcpProxy: `headers` only apply to a remote server (`url`)');
    }
    return { kind: 'stdio', command: options.command, args: options.args ?? [], env: options.env, cwd: options.cwd };
  }
  for (const key of ['args', 'env', 'cwd'] as const) {
    if (options[key] !== undefined) {
      throw new InvalidOptionsError(`runMcpProxy: \`${key}\` only applies to a launched server (\`command\`)`);
    }
  }
  return { kind: 'http', url: remoteUrl(options.url), headers: checkedHeaders(options.headers) };
}

function remoteUrl(value: unknown): URL {
  let url: URL;
  try {
    url = new URL(value instanceof URL ? value.href : String(value));
  } catch {
    throw new InvalidOptionsError('runMcpProxy: `url` is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionsError(`runMcpProxy: \`url\` must be an http: or https: URL, not ${url.protocol}`);
  }
  // fetch refuses them anyway, and a URL ends up in logs: credentials belong in `headers`.
  if (url.username !== '' || url.password !== '') {
    throw new InvalidOptionsError('runMcpProxy: `url` must not contain credentials; send them in `headers`');
  }
  return url;
}

function checkedHeaders(value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionsError('runMcpProxy: `headers` must be an object of header names to string values');
  }
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, headerValue] of Object.entries(value)) {
    const lower = name.toLowerCase();
    if (!HEADER_NAME.test(name))
      throw new InvalidOptionsError(`runMcpProxy: ${JSON.stringify(name)} is not a header name`);
    if (RESERVED.has(lower)) {
      throw new InvalidOptionsError(`runMcpProxy: header '${name}' is set by the MCP transport itself`);
    }
    if (seen.has(lower)) throw new InvalidOptionsError(`runMcpProxy: header '${name}' is given twice`);
    // Only the name is ever quoted: the value may be a credential. The characters are RFC 9110's for a
    // field value: fetch would refuse others on every request instead of once, here.
    if (typeof headerValue !== 'string' || /[^\t\x20-\x7e\x80-\xff]/.test(headerValue)) {
      throw new InvalidOptionsError(
        `runMcpProxy: header '${name}' must have a single-line string value (Latin-1 text, no control characters)`,
      );
    }
    seen.add(lower);
    headers[name] = headerValue;
  }
  return headers;
}

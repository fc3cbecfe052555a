/**
 * A local OTLP/HTTP receiver for tests: what Langfuse's real exporter sends is
 * captured and parsed, so tests assert on the wire format instead of on
 * in-process span objects. Listens on 127.0.0.1 (a free port); no network.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The body as text (gunzipped if needed). */
  readonly body: string;
  /** The parsed OTLP/JSON body, or undefined if it was not JSON. */
  readonly json: unknown;
}

/** One exported span, flattened for assertions. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Undefined for a root span. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** The instrumentation scope (`langfuse-sdk` for Langfuse observations). */
  readonly scope: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly status: { readonly code?: number; readonly message?: string };
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  /** The Langfuse view of the span, decoded from `langfuse.*` attributes. */
  readonly observation: {
    readonly type: string | undefined;
    readonly level: string | undefined;
    readonly statusMessage: string | undefined;
    readonly input: unknown;
    readonly output: unknown;
    /** `langfuse.observation.metadata.<key>` entries, JSON-looking values parsed. */
    readonly metadata: Readonly<Record<string, unknown>>;
  };
  readonly userId: string | undefined;
  readonly sessionId: string | undefined;
  /** `langfuse.trace.name`, set on the spans of a trace that hexgate (or the app) named. */
  readonly traceName: string | undefined;
  readonly tags: readonly string[];
  /** `langfuse.trace.metadata.<key>` entries. */
  readonly traceMetadata: Readonly<Record<string, unknown>>;
}

export interface OtlpReceiver {
  /** Base URL to give Langfuse as `baseUrl` / `LANGFUSE_BASE_URL`, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  readonly port: number;
  /** Every request received so far, in order. */
  readonly requests: readonly ReceivedRequest[];
  /** Every span received so far, flattened. */
  spans(): ReceivedSpan[];
  /** Spans grouped by trace id, in order of first appearance. */
  traces(): Map<string, ReceivedSpan[]>;
  /** All bodies concatenated: search it for things that must never leave the process. */
  allBodies(): string;
  clear(): void;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      const body = raw.toString('utf8');
      let json: unknown;
      if (String(req.headers['content-type'] ?? '').includes('json')) {
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const spans = (): ReceivedSpan[] => requests.flatMap((r) => spansOf(r.json));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    spans,
    traces() {
      const byTrace = new Map<string, ReceivedSpan[]>();
      for (const span of spans()) {
        const list = byTrace.get(span.traceId) ?? [];
        list.push(span);
        byTrace.set(span.traceId, list);
      }
      return byTrace;
    },
    allBodies: () => requests.map((r) => r.body).join('\n'),
    clear: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}
interface OtlpBody {
  resourceSpans?: { scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[];
}

function spansOf(json: unknown): ReceivedSpan[] {
  const body = json as OtlpBody | undefined;
  const out: ReceivedSpan[] = [];
  for (const resource of body?.resourceSpans ?? []) {
    for (const scoped of resource.scopeSpans ?? []) {
      for (const span of scoped.spans ?? []) out.push(flatten(span, scoped.scope?.name ?? ''));
    }
  }
  return out;
}

function flatten(span: OtlpSpan, scope: string): ReceivedSpan {
  const attributes: Record<string, unknown> = {};
  for (const kv of span.attributes ?? []) attributes[kv.key] = anyValue(kv.value);
  const prefixed = (prefix: string) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(attributes)) {
      if (key.startsWith(`${prefix}.`)) out[key.slice(prefix.length + 1)] = parseMaybeJson(value);
    }
    return out;
  };
  const str = (key: string) => (typeof attributes[key] === 'string' ? (attributes[key] as string) : undefined);
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId ? span.parentSpanId : undefined,
    name: span.name,
    scope,
    attributes,
    status: span.status ?? {},
    startTimeUnixNano: span.startTimeUnixNano,
    endTimeUnixNano: span.endTimeUnixNano,
    observation: {
      type: str('langfuse.observation.type'),
      level: str('langfuse.observation.level'),
      statusMessage: str('langfuse.observation.status_message'),
      input: parseMaybeJson(attributes['langfuse.observation.input']),
      output: parseMaybeJson(attributes['langfuse.observation.output']),
      metadata: prefixed('langfuse.observation.metadata'),
    },
    userId: str('user.id') ?? str('langfuse.user.id'),
    sessionId: str('session.id') ?? str('langfuse.session.id'),
    traceName: str('langfuse.trace.name'),
    tags: Array.isArray(attributes['langfuse.trace.tags']) ? (attributes['langfuse.trace.tags'] as string[]) : [],
    traceMetadata: prefixed('langfuse.trace.metadata'),
  };
}

function anyValue(value: OtlpAnyValue | undefined): unknown {
  if (!value) return undefined;
  if ('stringValue' in value) return value.stringValue;
  if ('boolValue' in value) return value.boolValue;
  if ('intValue' in value) return Number(value.intValue);
  if ('doubleValue' in value) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(anyValue);
  if (value.kvlistValue) {
    return Object.fromEntries((value.kvlistValue.values ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
  }
  return undefined;
}

/**
 * Langfuse sends non-string input/output/metadata values as JSON text and
 * strings verbatim; decode what parses as JSON (so a string that looks like a
 * number or `true` comes back as one: fine for assertions, not for round-trips).
 */
function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (!/^\s*([{["\d-]|true$|false$|null$)/.test(value)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/**
 * One SSE connection over node:http/https (no EventSource library: the relay
 * needs to choose the Last-Event-ID of every connection itself — the last
 * *published* id, not the last received one —, to pull events one at a time
 * so a slow publish pauses the socket, and to own the reconnect policy).
 *
 *   connectSse() ──GET url, Accept: text/event-stream, Last-Event-ID──▶ server
 *        │ 200 + text/event-stream, else SseConnectError (redirects followed)
 *        ▼
 *   for await (item of stream)  ◀── bytes ─ TextDecoder ─ SseParser ─ items
 *
 * The stream ends (returns) when the server closes the response; it throws
 * when the socket fails, the idle timeout passes without a byte, or the
 * caller's signal aborts.
 */
import * as http from "node:http";
import * as https from "node:https";
import { SSE_LINE_TYPES, SseParser, type SseLineCounts, type SseItem } from "./sse-parser";

export interface SseConnectOptions {
  url: string;
  /** Sent as Last-Event-ID when non-empty. */
  lastEventId: string | undefined;
  signal: AbortSignal;
  /** A connection silent for this long is dropped (half-open TCP). */
  idleTimeoutMs: number;
  userAgent?: string;
  /** Extra request headers (e.g. Authorization); Accept and Last-Event-ID are always the client's. */
  headers?: Readonly<Record<string, string>>;
  /** Called with the number of raw lines each chunk completed, and how many of each type. */
  onLines?: (n: number, types: SseLineCounts) => void;
}

/** A connection silent for idleTimeoutMs (before the response, or while reading its body). */
export class SseIdleTimeout extends Error {
  override name = "SseIdleTimeout";
}

export class SseConnectError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "SseConnectError";
  }
}

const MAX_REDIRECTS = 5;
/** Request headers the client sets itself (config headers with these names are ignored). */
const OWN_HEADERS = new Set(["accept", "cache-control", "last-event-id"]);

export interface SseStream extends AsyncIterable<SseItem> {
  /** The URL finally connected to (after redirects). */
  readonly url: string;
}

export async function connectSse(options: SseConnectOptions): Promise<SseStream> {
  let url = options.url;
  for (let hop = 0; ; hop++) {
    const res = await request(url, options);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location !== undefined && hop < MAX_REDIRECTS) {
      res.resume();
      url = new URL(location, url).toString();
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new SseConnectError(`${url}: HTTP ${status}`, status);
    }
    const type = res.headers["content-type"] ?? "";
    if (!type.toLowerCase().startsWith("text/event-stream")) {
      res.resume();
      throw new SseConnectError(`${url}: content type "${type}" is not text/event-stream`, status);
    }
    return { url, [Symbol.asyncIterator]: () => items(res, options) };
  }
}

function request(url: string, options: SseConnectOptions): Promise<http.IncomingMessage> {
  const target = new URL(url);
  const get = target.protocol === "https:" ? https.get : target.protocol === "http:" ? http.get : undefined;
  if (get === undefined) return Promise.reject(new SseConnectError(`${url}: not an http(s) URL`));
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!OWN_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  headers.accept = "text/event-stream";
  headers["cache-control"] = "no-cache";
  headers["user-agent"] ??= options.userAgent ?? "conveyor-relay/0.1";
  if (options.lastEventId) headers["last-event-id"] = options.lastEventId;
  return new Promise((resolve, reject) => {
    const req = get(target, { headers, signal: options.signal }, resolve);
    req.setTimeout(options.idleTimeoutMs, () =>
      req.destroy(new SseIdleTimeout(`no data from ${url} for ${options.idleTimeoutMs} ms`)),
    );
    req.on("error", reject);
  });
}

async function* items(res: http.IncomingMessage, options: SseConnectOptions): AsyncGenerator<SseItem> {
  const parser = new SseParser(options.lastEventId ?? "");
  const decoder = new TextDecoder("utf-8");
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      const before = parser.lines;
      const typesBefore = { ...parser.lineTypes };
      const out = parser.feed(decoder.decode(chunk, { stream: true }));
      if (options.onLines !== undefined) {
        const delta = { ...parser.lineTypes };
        for (const t of SSE_LINE_TYPES) delta[t] -= typesBefore[t];
        options.onLines(parser.lines - before, delta);
      }
      yield* out;
    }
  } finally {
    res.destroy();
  }
  // A response that ends without error is a clean close by the server (complete() checks for an abort).
  if (!res.complete) throw new Error("connection closed before the response completed");
}

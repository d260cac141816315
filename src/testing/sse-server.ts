/**
 * A local Server-Sent-Events server for relay tests (no internet in tests).
 * It replays recentchange-shaped events the way stream.wikimedia.org would,
 * with the awkward parts of the format on purpose:
 *
 *   :ok                                 a comment when a connection opens
 *   retry: <retryMs>                    the reconnection time
 *   event: message / id: [{...}] / data: {...}     Wikimedia-like JSON-array ids
 *   data lines split over several lines (pretty-printed JSON) every 10th event
 *   CRLF line ends every 7th event, a comment between events every 5th
 *   no id: field every 25th event (its identity is then the data's meta.id)
 *
 * Last-Event-ID is honoured: a connection resumes after the event with that
 * id (an unknown or absent id starts from the first event). `dropAfter` cuts
 * the connection once after that many events (mid-way through the next
 * event), `holdAt` stops sending after that many events until release(), and
 * `failFirst` answers the first connections with HTTP 503. After the last event
 * the connection stays open with a keep-alive comment every second.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface TestSseEvent {
  /** The SSE id (undefined: the event is sent without an id: field). */
  id: string | undefined;
  /** One JSON object, as a string. */
  data: string;
}

/** `n` recentchange-shaped events; event i (0-based) has meta.id `rc-<i>` and offset 1000 + i. */
export function recentChangeEvents(n: number, topic = "eqiad.mediawiki.recentchange"): TestSseEvent[] {
  const out: TestSseEvent[] = [];
  for (let i = 0; i < n; i++) {
    const offset = 1000 + i;
    const wiki = ["enwiki", "dewiki", "commonswiki", "wikidatawiki"][i % 4];
    const data = {
      $schema: "/mediawiki/recentchange/1.0.0",
      meta: {
        uri: `https://${wiki}.example/wiki/Page_${i}`,
        request_id: `req-${i}`,
        id: `rc-${i}`,
        dt: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
        domain: `${wiki}.example`,
        stream: "mediawiki.recentchange",
        topic,
        partition: 0,
        offset,
      },
      id: 100_000 + i,
      type: i % 3 === 0 ? "new" : "edit",
      namespace: 0,
      title: `Page ${i} — ünïcödé ✓`,
      comment: i % 11 === 0 ? "line one\nline two: with a colon" : `edit ${i}`,
      timestamp: Math.floor(Date.UTC(2024, 0, 1) / 1000) + i,
      user: `User${i % 17}`,
      bot: i % 9 === 0,
      wiki,
    };
    out.push({
      id: i % 25 === 24 ? undefined : JSON.stringify([{ topic, partition: 0, offset }]),
      data: JSON.stringify(data),
    });
  }
  return out;
}

export interface SseServerOptions {
  events: TestSseEvent[];
  retryMs?: number;
  /** Pause between events, ms (0: as fast as the socket takes them). */
  intervalMs?: number;
  /** Event counts after which a connection is cut, once each. */
  dropAfter?: number[];
  /** Stop sending after this many events until release(). */
  holdAt?: number;
  /** Answer this many first connections with HTTP 503. */
  failFirst?: number;
}

export interface SseConnectionInfo {
  lastEventId: string | undefined;
  /** Index of the first event sent on this connection. */
  startIndex: number;
  status: number;
}

export interface SseTestServer {
  url: string;
  /** Every request, in order. */
  connections: SseConnectionInfo[];
  /** Lets a connection held at holdAt go on. */
  release(): void;
  close(): Promise<void>;
}

/** The wire text of one event (exported for tests of the format). */
export function formatEvent(event: TestSseEvent, index: number): string {
  const eol = index % 7 === 3 ? "\r\n" : "\n";
  const lines: string[] = [];
  if (index % 5 === 1) lines.push(": keep-alive between events");
  lines.push("event: message");
  if (event.id !== undefined) lines.push(`id: ${event.id}`);
  const dataLines =
    index % 10 === 4 ? JSON.stringify(JSON.parse(event.data) as unknown, null, 2).split("\n") : [event.data];
  for (const l of dataLines) lines.push(`data: ${l}`);
  return lines.join(eol) + eol + eol;
}

export async function startSseServer(options: SseServerOptions): Promise<SseTestServer> {
  const { events } = options;
  const indexOfId = new Map<string, number>();
  events.forEach((e, i) => e.id !== undefined && indexOfId.set(e.id, i));
  const drops = new Set(options.dropAfter ?? []);
  const connections: SseConnectionInfo[] = [];
  let released = options.holdAt === undefined;
  let onRelease: Array<() => void> = [];
  const timers = new Set<NodeJS.Timeout>();
  let closing = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const header = req.headers["last-event-id"];
    const lastEventId = typeof header === "string" && header !== "" ? header : undefined;
    const known = lastEventId === undefined ? undefined : indexOfId.get(lastEventId);
    const start = known === undefined ? 0 : known + 1;
    if (connections.length < (options.failFirst ?? 0)) {
      connections.push({ lastEventId, startIndex: start, status: 503 });
      res.writeHead(503, { "Content-Type": "text/plain" }).end("try later\n");
      return;
    }
    connections.push({ lastEventId, startIndex: start, status: 200 });
    res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache" });
    let gone = false;
    res.on("close", () => (gone = true));
    const write = async (text: string): Promise<void> => {
      if (!res.write(text)) await new Promise<void>((resolve) => res.once("drain", resolve));
    };
    await write(`:ok\n\nretry: ${options.retryMs ?? 50}\n\n`);
    for (let i = start; i < events.length && !gone; i++) {
      if (i === options.holdAt && !released) {
        await new Promise<void>((resolve) => onRelease.push(resolve));
        if (gone) return;
      }
      if (drops.has(i)) {
        drops.delete(i);
        const half = formatEvent(events[i], i);
        // Wait until everything before is handed to the kernel, so the cut point is deterministic.
        await new Promise<void>((resolve) =>
          res.write(half.slice(0, Math.floor(half.length / 2)), () => resolve()),
        );
        res.socket?.destroy();
        return;
      }
      await write(formatEvent(events[i], i));
      if (options.intervalMs) await sleep(options.intervalMs);
    }
    while (!gone && !closing) {
      await sleep(1000);
      if (!gone) res.write(": keep-alive\n\n");
    }
  };

  const server = http.createServer((req, res) => {
    serve(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v2/stream/recentchange`,
    connections,
    release() {
      released = true;
      const waiting = onRelease;
      onRelease = [];
      for (const r of waiting) r();
    },
    close() {
      closing = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const waiting = onRelease;
      onRelease = [];
      for (const r of waiting) r();
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

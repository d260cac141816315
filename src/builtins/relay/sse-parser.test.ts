import { SseParser, type SseEvent, type SseItem } from "./sse-parser";

function events(items: SseItem[]): SseEvent[] {
  return items.flatMap((i) => (i.kind === "event" ? [i.event] : []));
}

/** Feeds `text` one piece per element and collects everything. */
function parseChunks(chunks: string[], lastEventId?: string): SseItem[] {
  const p = new SseParser(lastEventId);
  return chunks.flatMap((c) => p.feed(c));
}

/** Every way of splitting `text` in two must give the same result as one chunk. */
function expectSplitInvariant(text: string): SseItem[] {
  const whole = parseChunks([text]);
  for (let i = 0; i <= text.length; i++) {
    expect(parseChunks([text.slice(0, i), text.slice(i)])).toEqual(whole);
  }
  expect(parseChunks([...text])).toEqual(whole);
  return whole;
}

describe("SseParser", () => {
  it("dispatches an event on a blank line with id, type and data", () => {
    const items = parseChunks(['id: 7\nevent: message\ndata: {"a":1}\n\n']);
    expect(items).toEqual([
      { kind: "event", event: { id: "7", lastEventId: "7", type: "message", data: '{"a":1}' } },
    ]);
  });

  it("joins multi-line data with \\n and removes only one leading space", () => {
    const [e] = events(parseChunks(['data: {\ndata:  "a": 1\ndata:}\n\n']));
    expect(e.data).toBe('{\n "a": 1\n}');
    expect(e.type).toBe("message");
    expect(e.id).toBeUndefined();
  });

  it("ignores comments, unknown fields, and events without data", () => {
    const items = parseChunks([": hello\nfoo: bar\n\nevent: ping\n\n:keepalive\ndata: x\n\n"]);
    expect(events(items).map((e) => e.data)).toEqual(["x"]);
  });

  it("accepts CRLF, LF and CR line ends, even split across chunks", () => {
    const text = "id: 1\r\ndata: a\r\n\r\nid: 2\rdata: b\r\rid: 3\ndata: c\n\n";
    const items = expectSplitInvariant(text);
    expect(events(items).map((e) => [e.id, e.data])).toEqual([
      ["1", "a"],
      ["2", "b"],
      ["3", "c"],
    ]);
  });

  it("drops one BOM at the start of the stream only", () => {
    const items = parseChunks(["\uFEFF", "data: a\n\n\uFEFFdata: b\n\n"]);
    // The second BOM is part of a field name "\uFEFFdata", an unknown field.
    expect(events(items).map((e) => e.data)).toEqual(["a"]);
  });

  it("reports retry with digits only, at once, in stream order", () => {
    const items = parseChunks(["retry: 1500\nretry: 1.5\nretry: x\ndata: a\nretry: 20\n\n"]);
    expect(items).toEqual([
      { kind: "retry", ms: 1500 },
      { kind: "retry", ms: 20 },
      { kind: "event", event: { id: undefined, lastEventId: "", type: "message", data: "a" } },
    ]);
  });

  it("keeps the last event id across events but marks only an event's own id", () => {
    const items = parseChunks(["id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"], "0");
    expect(events(items).map((e) => [e.id, e.lastEventId])).toEqual([
      ["5", "5"],
      [undefined, "5"],
      ["", ""],
    ]);
  });

  it("starts from the given last event id and ignores ids containing NUL", () => {
    const items = parseChunks(["data: a\n\nid: x\u0000y\ndata: b\n\n"], "41");
    expect(events(items).map((e) => [e.id, e.lastEventId])).toEqual([
      [undefined, "41"],
      [undefined, "41"],
    ]);
  });

  it("treats a line without a colon as a field with an empty value", () => {
    const items = parseChunks(["data\ndata\n\n"]);
    expect(events(items).map((e) => e.data)).toEqual(["\n"]);
  });

  it("never dispatches an event cut off by the end of the stream", () => {
    const p = new SseParser();
    expect(events(p.feed('id: 1\ndata: a\n\nid: 2\ndata: {"half":'))).toHaveLength(1);
    // A new connection gets a new parser; the half event is gone, not glued to the next one.
    expect(events(new SseParser("1").feed("id: 2\ndata: {}\n\n"))[0]).toEqual({
      id: "2",
      lastEventId: "2",
      type: "message",
      data: "{}",
    });
  });

  it("counts raw lines, comments and blank lines included", () => {
    const p = new SseParser();
    p.feed(": c\r\nid: 1\r\ndata: a\r\n\r\n");
    expect(p.lines).toBe(4);
  });

  it("parses a recentchange-shaped event split at every position", () => {
    const id = '[{"topic":"eqiad.mediawiki.recentchange","partition":0,"offset":123}]';
    const data = JSON.stringify({ meta: { id: "u-1", dt: "2024-01-01T00:00:00Z" }, wiki: "enwiki" });
    const text = `:ok\n\nevent: message\nid: ${id}\ndata: ${data}\n\n`;
    const [e] = events(expectSplitInvariant(text));
    expect(e).toEqual({ id, lastEventId: id, type: "message", data });
  });
});

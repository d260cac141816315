/**
 * A Server-Sent-Events parser (WHATWG HTML, "Interpreting an event stream"),
 * pure and synchronous: feed() it decoded text in any chunking and it returns
 * what the chunk completed, in stream order.
 *
 *   "\uFEFF"?             one BOM at the very start is dropped
 *   ": comment"           ignored (servers send them as keep-alives)
 *   "id: 42"              sets the last event id (a value containing NUL is ignored)
 *   "event: message"      sets the event type of the event being built
 *   "data: {...}"         appends a data line; several are joined with "\n"
 *   "retry: 3000"         a reconnection time in ms (digits only), reported at once
 *   ""                    dispatches the event (none when it has no data line)
 *
 * Lines end in CRLF, LF or CR. A CR at the end of a chunk is held back until
 * the next chunk shows whether an LF follows, so CRLF split across chunks is
 * one line end. An event not terminated by a blank line when the stream ends
 * is never dispatched (the spec discards it): a dropped connection cannot
 * produce a truncated event.
 */

export interface SseEvent {
  /** The `id:` field of this very event, when it had one (the stable identity). */
  id: string | undefined;
  /** The last event id after this event (inherited from earlier events when it had no `id:`). */
  lastEventId: string;
  /** The event type ("message" unless an `event:` field said otherwise). */
  type: string;
  data: string;
}

/** Line types as pleiades counts them (pleiades_recv_event_lines_total{type}); blank lines are none. */
export const SSE_LINE_TYPES = ["comment", "id", "event", "data", "unknown"] as const;
export type SseLineType = (typeof SSE_LINE_TYPES)[number];
export type SseLineCounts = { [T in SseLineType]: number };

export type SseItem = { kind: "event"; event: SseEvent } | { kind: "retry"; ms: number };

export class SseParser {
  /** Raw lines seen so far (comments and blank lines included). */
  lines = 0;
  /** Non-blank lines by type; "unknown" is any other field (retry: included, which pleiades ignored). */
  readonly lineTypes: SseLineCounts = { comment: 0, id: 0, event: 0, data: 0, unknown: 0 };
  private buffer = "";
  private started = false;
  private pendingCr = false;
  private lastEventId: string;
  private data: string[] = [];
  private type = "";
  private ownId: string | undefined;

  constructor(lastEventId = "") {
    this.lastEventId = lastEventId;
  }

  /** Parses `text` (the next piece of the stream) and returns the events and retries it completed. */
  feed(text: string): SseItem[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text.startsWith("\n")) text = text.slice(1);
    }
    const out: SseItem[] = [];
    let s = this.buffer + text;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      this.line(s.slice(start, i), out);
      if (c === 0x0d) {
        if (i + 1 === s.length) {
          this.pendingCr = true;
        } else if (s.charCodeAt(i + 1) === 0x0a) {
          i++;
        }
      }
      start = i + 1;
    }
    s = s.slice(start);
    this.buffer = s;
    return out;
  }

  private line(line: string, out: SseItem[]): void {
    this.lines++;
    if (line === "") {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(":")) {
      this.lineTypes.comment++;
      return;
    }
    const colon = line.indexOf(":");
    let field: string;
    let value: string;
    if (colon < 0) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    this.lineTypes[field === "event" || field === "data" || field === "id" ? field : "unknown"]++;
    switch (field) {
      case "event":
        this.type = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\u0000")) {
          this.lastEventId = value;
          this.ownId = value;
        }
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) out.push({ kind: "retry", ms: Number(value) });
        break;
      default:
        // Unknown fields are ignored, as the spec says.
        break;
    }
  }

  private dispatch(out: SseItem[]): void {
    if (this.data.length > 0) {
      out.push({
        kind: "event",
        event: {
          id: this.ownId,
          lastEventId: this.lastEventId,
          type: this.type === "" ? "message" : this.type,
          data: this.data.join("\n"),
        },
      });
    }
    this.data = [];
    this.type = "";
    this.ownId = undefined;
  }
}

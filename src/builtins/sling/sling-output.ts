/**
 * What the Sling CLI prints, read line by line. With `SLING_LOGGING=JSON` every log line on stdout is
 * `{"lvl":"info","time":"…","msg":"…"}`; a fatal error still comes as plain (coloured) text on stderr.
 * Row counts come from the messages `inserted N rows into …` (database targets) and
 * `wrote N rows [R r/s] to …` / `wrote N rows to …` (files, stdout). Pure: no I/O.
 */

export type SlingStream = "stdout" | "stderr";
export type SlingLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export interface SlingLogLine {
  level: SlingLevel;
  message: string;
  /** Sling's own timestamp (JSON lines only). */
  time?: string;
  stream: SlingStream;
  /** false when the line was not Sling's JSON (a fatal error, a panic, a fake binary's output). */
  json: boolean;
}

// Sling colours its banner and fatal errors even in JSON mode.
// eslint-disable-next-line no-control-regex -- matching the ESC control character is the point
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;
const LEVELS: ReadonlySet<string> = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);
const ROWS = /\b(?:inserted|wrote) (\d+) rows?\b/;
const OUTCOME = /\bexecution (succeeded|failed)\b/;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

function level(value: unknown, fallback: SlingLevel): SlingLevel {
  if (typeof value !== "string") return fallback;
  const v = value.toLowerCase();
  if (v === "warning") return "warn";
  if (v === "panic") return "fatal";
  return LEVELS.has(v) ? (v as SlingLevel) : fallback;
}

/** One output line as a log line; undefined for blank lines. */
export function parseSlingLine(raw: string, stream: SlingStream): SlingLogLine | undefined {
  const line = stripAnsi(raw).trim();
  if (line === "") return undefined;
  if (line.startsWith("{")) {
    try {
      const obj = JSON.parse(line) as unknown;
      if (obj && typeof obj === "object" && typeof (obj as { msg?: unknown }).msg === "string") {
        const o = obj as { lvl?: unknown; level?: unknown; msg: string; time?: unknown };
        return {
          level: level(o.lvl ?? o.level, "info"),
          message: stripAnsi(o.msg).trim(),
          ...(typeof o.time === "string" ? { time: o.time } : {}),
          stream,
          json: true,
        };
      }
    } catch {
      // Not JSON after all (e.g. a data line starting with "{"): kept below as plain text.
    }
  }
  const plainLevel: SlingLevel = stream === "stderr" ? "error" : "info";
  return { level: /^fatal\b/i.test(line) ? "fatal" : plainLevel, message: line, stream, json: false };
}

/** Rows reported by one message, or undefined when it reports none. */
export function rowsFromMessage(message: string): number | undefined {
  const m = ROWS.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** "succeeded" / "failed" when the message is Sling's final verdict. */
export function outcomeFromMessage(message: string): "succeeded" | "failed" | undefined {
  const m = OUTCOME.exec(message);
  return m ? (m[1] as "succeeded" | "failed") : undefined;
}

/**
 * Running totals over one Sling run: rows (summed over every stream of a replication), the verdict,
 * and the first error-level message (what a failed pipeline is reported with).
 */
export class SlingRunSummary {
  rows = 0;
  outcome: "succeeded" | "failed" | undefined;
  private errorLines: string[] = [];

  add(line: SlingLogLine): void {
    const rows = rowsFromMessage(line.message);
    if (rows !== undefined) this.rows += rows;
    this.outcome = outcomeFromMessage(line.message) ?? this.outcome;
    if ((line.level === "error" || line.level === "fatal") && this.errorLines.length < 20) {
      this.errorLines.push(line.message);
    }
  }

  /** The error lines without Sling's boilerplate (`fatal:`, `~ failure running replication…`, rulers). */
  errorText(): string | undefined {
    const useful = this.errorLines.filter(
      (l) => !/^fatal:?$/i.test(l) && !/^-+ .* -+$/.test(l) && !/^~ failure running replication/.test(l),
    );
    const text = (useful.length > 0 ? useful : this.errorLines).join(" | ");
    return text === "" ? undefined : text;
  }
}

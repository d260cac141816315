/**
 * Dead letters as a `builtin: file` dead-letter sink writes them (one NDJSON line per record, see
 * src/builtins/file/ndjson-writer.ts) with the headers sidecar/record-retries.ts deadLetterRecord
 * adds: `_dlq_error` ("CODE: message"), `_dlq_stage`, `_dlq_attempts`, `_dlq_ts`. Pure: parsing,
 * selecting and turning a dead letter back into the record to replay; the files are read elsewhere.
 */
import { valueOf, type NdjsonLine } from "../builtins/file/ndjson-writer";

/** Headers that only describe a failure; replay strips every header with this prefix. */
export const DLQ_HEADER_PREFIX = "_dlq_";
/** Set on a replayed record: the `_dlq_ts` of the dead letter it was replayed from. */
export const REPLAYED_FROM_HEADER = "_dlq_replayed_from";

export interface DeadLetter {
  id: string;
  key: string;
  value: Buffer;
  /** The record's own headers, without the `_dlq_*` ones. */
  headers: { [key: string]: string };
  eventTimeMs: number;
  /** The stage that failed the record. */
  stage: string;
  /** The error's code (e.g. STAGE_FAILED), or "" when the error carried none. */
  code: string;
  message: string;
  attempts: number;
  /** When the record was dead-lettered (ISO 8601, as `_dlq_ts` has it). */
  ts: string;
  tsMs: number;
  /** `_dlq_ts` of the dead letter this record had been replayed from, when it failed again after a replay. */
  replayedFrom?: string;
  /** Where it was read: the file and its 1-based line number. */
  file: string;
  line: number;
}

/** A line that was skipped, with the reason. */
export interface ParseWarning {
  file: string;
  line: number;
  reason: string;
}

export interface ParsedDeadLetters {
  letters: DeadLetter[];
  warnings: ParseWarning[];
}

/** "CODE: message" → { code, message }; an error without a code is all message. */
export function splitDlqError(text: string): { code: string; message: string } {
  const m = /^([A-Z][A-Z0-9_]*): ([\s\S]*)$/.exec(text);
  return m ? { code: m[1]!, message: m[2]! } : { code: "", message: text };
}

/**
 * Parses a dead-letter file's text. A line that is not JSON, not a record or has no `_dlq_stage`
 * or `_dlq_ts` is skipped with a warning naming its line; nothing throws. A last line without its
 * newline may still be being written: it is read when it parses, else reported as incomplete.
 */
export function parseDeadLetters(text: string, file: string): ParsedDeadLetters {
  const letters: DeadLetter[] = [];
  const warnings: ParseWarning[] = [];
  const lines = text.split("\n");
  const unterminated = lines.pop() ?? "";
  const all = unterminated === "" ? lines : [...lines, unterminated];
  all.forEach((raw, i) => {
    const parsed = parseDeadLetterLine(raw, file, i + 1, i < lines.length);
    if (parsed === undefined) return;
    if ("reason" in parsed) warnings.push(parsed);
    else letters.push(parsed);
  });
  return { letters, warnings };
}

/**
 * One line of a dead-letter file (1-based `line`; `terminated`: its newline was there): the dead
 * letter, or the warning that skips it; undefined for a blank line. parseDeadLetters line by line,
 * for readers that stream the file (dead-letter-stream.ts).
 */
export function parseDeadLetterLine(
  raw: string,
  file: string,
  line: number,
  terminated: boolean,
): DeadLetter | ParseWarning | undefined {
  if (raw.trim() === "") return undefined;
  const result = parseLine(raw, file, line);
  if (typeof result !== "string") return result;
  return { file, line, reason: terminated ? result : `incomplete last line (${result})` };
}

function parseLine(raw: string, file: string, line: number): DeadLetter | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (!isNdjsonLine(parsed)) return "not a record line (needs id, key, headers, value or valueBase64)";
  const h = parsed.headers;
  const stage = h._dlq_stage;
  const ts = h._dlq_ts;
  if (stage === undefined || stage === "") return "not a dead letter (no _dlq_stage header)";
  const tsMs = ts === undefined ? NaN : Date.parse(ts);
  if (ts === undefined || Number.isNaN(tsMs)) return `no valid _dlq_ts header (${JSON.stringify(ts)})`;
  const headers: { [key: string]: string } = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith(DLQ_HEADER_PREFIX)) headers[k] = v;
  const { code, message } = splitDlqError(h._dlq_error ?? "");
  const attempts = Number(h._dlq_attempts ?? "0");
  return {
    id: parsed.id,
    key: parsed.key,
    value: valueOf(parsed),
    headers,
    eventTimeMs: parsed.eventTimeMs ?? 0,
    stage,
    code,
    message,
    attempts: Number.isFinite(attempts) ? attempts : 0,
    ts,
    tsMs,
    ...(h[REPLAYED_FROM_HEADER] !== undefined ? { replayedFrom: h[REPLAYED_FROM_HEADER] } : {}),
    file,
    line,
  };
}

function isNdjsonLine(v: unknown): v is NdjsonLine {
  if (typeof v !== "object" || v === null) return false;
  const o = v as { [k: string]: unknown };
  if (typeof o.id !== "string" || typeof o.key !== "string") return false;
  if (o.value !== undefined && typeof o.value !== "string") return false;
  if (o.valueBase64 !== undefined && typeof o.valueBase64 !== "string") return false;
  if (o.value === undefined && o.valueBase64 === undefined) return false;
  if (o.eventTimeMs !== undefined && typeof o.eventTimeMs !== "number") return false;
  if (typeof o.headers !== "object" || o.headers === null || Array.isArray(o.headers)) return false;
  return Object.values(o.headers).every((x) => typeof x === "string");
}

/** One dead letter's identity: a record id can be dead-lettered again after a replay, with a new ts. */
export function deadLetterKey(d: { id: string; ts: string }): string {
  return `${d.id}\u0000${d.ts}`;
}

export interface DeadLetterFilter {
  /** Only these record ids (empty or absent: any). */
  ids?: readonly string[];
  stage?: string;
  /** Dead-lettered at or after this instant (ms since the epoch). */
  sinceMs?: number;
  /** A case-insensitive substring of "CODE: message". */
  error?: string;
  /** Skip this many of the selected, oldest first (paging: with limit). */
  offset?: number;
  /** At most this many, oldest first (after offset). */
  limit?: number;
}

/**
 * The dead letters a filter selects, oldest first (by `_dlq_ts`, then file and line), each once:
 * the sink delivers at least once, so the same dead letter may be written twice.
 */
export function selectDeadLetters(letters: readonly DeadLetter[], filter: DeadLetterFilter): DeadLetter[] {
  const matches = deadLetterMatcher(filter);
  const seen = new Set<string>();
  const out: DeadLetter[] = [];
  let skip = filter.offset ?? 0;
  for (const d of [...letters].sort(compareDeadLetters)) {
    if (!matches(d)) continue;
    const key = deadLetterKey(d);
    if (seen.has(key)) continue;
    seen.add(key);
    if (skip > 0) {
      skip--;
      continue;
    }
    out.push(d);
    if (filter.limit !== undefined && out.length >= filter.limit) break;
  }
  return out;
}

/** Oldest first: by `_dlq_ts`, then file, then line. */
export function compareDeadLetters(a: DeadLetter, b: DeadLetter): number {
  return a.tsMs - b.tsMs || a.file.localeCompare(b.file) || a.line - b.line;
}

/** Whether a dead letter passes a filter's ids, stage, since and error (not its offset or limit). */
export function deadLetterMatcher(filter: DeadLetterFilter): (d: DeadLetter) => boolean {
  const ids = filter.ids && filter.ids.length > 0 ? new Set(filter.ids) : undefined;
  const needle = filter.error?.toLowerCase();
  return (d) =>
    (ids === undefined || ids.has(d.id)) &&
    (filter.stage === undefined || d.stage === filter.stage) &&
    (filter.sinceMs === undefined || d.tsMs >= filter.sinceMs) &&
    (needle === undefined || errorText(d).toLowerCase().includes(needle));
}

/** The error as `_dlq_error` had it: "CODE: message". */
export function errorText(d: Pick<DeadLetter, "code" | "message">): string {
  return d.code ? `${d.code}: ${d.message}` : d.message;
}

/**
 * `--since`: an ISO 8601 time, or a duration back from now (`90s`, `15m`, `2h`, `7d`).
 * Returns ms since the epoch, or undefined when the text is neither.
 */
export function parseSince(text: string, nowMs: number = Date.now()): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (m) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      m[2] as "ms" | "s" | "m" | "h" | "d"
    ];
    return nowMs - Number(m[1]) * unit;
  }
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** What replay sends: the record as it entered the failing stage, with its id, plus where it came from. */
export interface ReplayRecord {
  id: string;
  key: string;
  value: Buffer;
  headers: { [key: string]: string };
}

export function replayRecordOf(d: DeadLetter): ReplayRecord {
  return { id: d.id, key: d.key, value: d.value, headers: { ...d.headers, [REPLAYED_FROM_HEADER]: d.ts } };
}

/** A dead letter as `conveyor dlq list --json` and the console's /api print it. */
export interface DeadLetterJson {
  id: string;
  key: string;
  stage: string;
  code: string;
  error: string;
  attempts: number;
  ts: string;
  replayedFrom?: string;
  replayed: boolean;
  headers: { [key: string]: string };
  value?: string;
  valueBase64?: string;
  eventTimeMs: number;
  file: string;
  line: number;
}

/** A dead letter for --json and `show`: the value as text when it is UTF-8, else base64. */
export function deadLetterJson(d: DeadLetter, replayed: ReadonlySet<string>): DeadLetterJson {
  const text = d.value.toString("utf8");
  const exact = Buffer.byteLength(text, "utf8") === d.value.length && !text.includes("\uFFFD");
  return {
    id: d.id,
    key: d.key,
    stage: d.stage,
    code: d.code,
    error: d.message,
    attempts: d.attempts,
    ts: d.ts,
    ...(d.replayedFrom !== undefined ? { replayedFrom: d.replayedFrom } : {}),
    replayed: replayed.has(deadLetterKey(d)),
    headers: d.headers,
    ...(exact ? { value: text } : { valueBase64: d.value.toString("base64") }),
    eventTimeMs: d.eventTimeMs,
    file: d.file,
    line: d.line,
  };
}

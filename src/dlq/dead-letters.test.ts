import { toNdjsonLine } from "../builtins/file/ndjson-writer";
import {
  REPLAYED_FROM_HEADER,
  parseDeadLetters,
  parseSince,
  replayRecordOf,
  selectDeadLetters,
  splitDlqError,
} from "./dead-letters";

function line(
  id: string,
  stage: string,
  ts: string,
  error: string,
  value = Buffer.from(`{"n":"${id}"}`),
): string {
  return toNdjsonLine({
    id,
    key: Buffer.from(`k-${id}`),
    value,
    headers: { app: "x", _dlq_error: error, _dlq_stage: stage, _dlq_attempts: "3", _dlq_ts: ts },
    eventTimeMs: 42,
  });
}

describe("parseDeadLetters", () => {
  it("reads the file sink's lines, splits the error into code and message, keeps the record's own headers", () => {
    const bytes = Buffer.from([0xff, 0x00, 0x80]);
    const text =
      line("a", "check", "2026-01-01T00:00:00.000Z", "STAGE_FAILED: record a is poisoned") +
      line("b", "sink", "2026-01-01T00:00:01.000Z", "no code here", bytes);
    const { letters, warnings } = parseDeadLetters(text, "f.ndjson");
    expect(warnings).toEqual([]);
    expect(letters[0]).toMatchObject({
      id: "a",
      key: "k-a",
      stage: "check",
      code: "STAGE_FAILED",
      message: "record a is poisoned",
      attempts: 3,
      ts: "2026-01-01T00:00:00.000Z",
      headers: { app: "x" },
      eventTimeMs: 42,
      file: "f.ndjson",
      line: 1,
    });
    expect(letters[0]!.value.toString()).toBe('{"n":"a"}');
    expect(letters[1]).toMatchObject({ code: "", message: "no code here", line: 2 });
    expect(letters[1]!.value).toEqual(bytes);
  });

  it("skips malformed lines with a warning naming the line, and never throws", () => {
    const good = line("a", "check", "2026-01-01T00:00:00.000Z", "X: y");
    const text = [
      "{not json",
      JSON.stringify({ id: "n", key: "", value: "v", headers: {} }),
      JSON.stringify({ id: 5 }),
      JSON.stringify({ id: "t", key: "", value: "v", headers: { _dlq_stage: "s", _dlq_ts: "yesterday" } }),
    ].join("\n");
    const { letters, warnings } = parseDeadLetters(`${text}\n\n${good}{"id":"half`, "f");
    expect(letters.map((l) => l.id)).toEqual(["a"]);
    expect(warnings.map((w) => [w.line, w.reason.split(" (")[0]])).toEqual([
      [1, "not JSON"],
      [2, "not a dead letter"],
      [3, "not a record line"],
      [4, "no valid _dlq_ts header"],
      [7, "incomplete last line"],
    ]);
  });
});

describe("selectDeadLetters", () => {
  const { letters } = parseDeadLetters(
    line("c", "check", "2026-01-01T00:00:02.000Z", "STAGE_FAILED: late") +
      line("a", "check", "2026-01-01T00:00:00.000Z", "STAGE_FAILED: Poisoned") +
      line("b", "enrich", "2026-01-01T00:00:01.000Z", "TIMEOUT: slow") +
      line("a", "check", "2026-01-01T00:00:00.000Z", "STAGE_FAILED: Poisoned"),
    "f",
  );

  it("orders oldest first and drops a dead letter the sink wrote twice", () => {
    expect(selectDeadLetters(letters, {}).map((d) => d.id)).toEqual(["a", "b", "c"]);
  });

  it("filters by ids, stage, since, error text (case-insensitive) and limit", () => {
    const ids = (f: Parameters<typeof selectDeadLetters>[1]): string[] =>
      selectDeadLetters(letters, f).map((d) => d.id);
    expect(ids({ ids: ["c", "b"] })).toEqual(["b", "c"]);
    expect(ids({ stage: "check" })).toEqual(["a", "c"]);
    expect(ids({ sinceMs: Date.parse("2026-01-01T00:00:01.000Z") })).toEqual(["b", "c"]);
    expect(ids({ error: "poisoned" })).toEqual(["a"]);
    expect(ids({ error: "timeout:" })).toEqual(["b"]);
    expect(ids({ limit: 2 })).toEqual(["a", "b"]);
    // Pages: offset skips that many of the selected (duplicates counted once), limit cuts after it.
    expect(ids({ offset: 1, limit: 2 })).toEqual(ids({}).slice(1, 3));
    expect(ids({ offset: 1000 })).toEqual([]);
  });
});

describe("replayRecordOf", () => {
  it("keeps id, key, value and the record's headers, strips _dlq_* and names the dead letter's ts", () => {
    const text = toNdjsonLine({
      id: "r",
      key: Buffer.from("k"),
      value: Buffer.from([1, 2, 3]),
      headers: {
        app: "x",
        _dlq_stage: "check",
        _dlq_ts: "2026-01-02T00:00:00.000Z",
        _dlq_error: "E: m",
        _dlq_attempts: "1",
        [REPLAYED_FROM_HEADER]: "2026-01-01T00:00:00.000Z",
      },
      eventTimeMs: 1,
    });
    const [d] = parseDeadLetters(text, "f").letters;
    expect(d!.replayedFrom).toBe("2026-01-01T00:00:00.000Z");
    expect(replayRecordOf(d!)).toEqual({
      id: "r",
      key: "k",
      value: Buffer.from([1, 2, 3]),
      headers: { app: "x", [REPLAYED_FROM_HEADER]: "2026-01-02T00:00:00.000Z" },
    });
  });
});

describe("splitDlqError and parseSince", () => {
  it("splits only a leading upper-case code", () => {
    expect(splitDlqError("STAGE_FAILED: a: b")).toEqual({ code: "STAGE_FAILED", message: "a: b" });
    expect(splitDlqError("Error: lower")).toEqual({ code: "", message: "Error: lower" });
  });

  it("reads durations back from now and ISO times; anything else is undefined", () => {
    const now = Date.parse("2026-01-01T12:00:00.000Z");
    expect(parseSince("15m", now)).toBe(now - 15 * 60_000);
    expect(parseSince("2h", now)).toBe(now - 7_200_000);
    expect(parseSince("2026-01-01T11:00:00Z", now)).toBe(now - 3_600_000);
    expect(parseSince("soon", now)).toBeUndefined();
  });
});

import { toNdjsonLine } from "../../builtins/file/ndjson-writer";
import { REPLAYED_FROM_HEADER, parseDeadLetters } from "../../dlq/dead-letters";
import type { ReplayOutcome } from "../../dlq/replay";
import { deadLetterJson, failedAgain, formatDeadLetters } from "./dlq";

function line(
  id: string,
  ts: string,
  extra: { [k: string]: string } = {},
  value = Buffer.from("ok"),
): string {
  return toNdjsonLine({
    id,
    key: Buffer.from("k"),
    value,
    headers: {
      _dlq_error: `STAGE_FAILED: ${"x".repeat(100)}`,
      _dlq_stage: "check",
      _dlq_attempts: "2",
      _dlq_ts: ts,
      ...extra,
    },
    eventTimeMs: 0,
  });
}

describe("dlq command output", () => {
  const { letters } = parseDeadLetters(
    line("a", "2026-01-01T00:00:00.000Z") + line("b", "2026-01-01T00:00:01.000Z", {}, Buffer.from([0xff])),
    "f",
  );

  it("a delivered record that is a dead letter again (replayed from its ts) is reported failed with the new error", () => {
    const sent: ReplayOutcome[] = letters.map((letter) => ({ letter, outcome: "delivered" }));
    const after = parseDeadLetters(
      line("a", "2026-01-01T00:05:00.000Z", { [REPLAYED_FROM_HEADER]: "2026-01-01T00:00:00.000Z" }) +
        line("b", "2026-01-01T00:06:00.000Z", { [REPLAYED_FROM_HEADER]: "2025-12-31T00:00:00.000Z" }),
      "f",
    ).letters;
    const outcomes = failedAgain(sent, [...letters, ...after]);
    expect(outcomes[0]).toMatchObject({
      outcome: "failed",
      code: "STAGE_FAILED",
      reason: expect.stringContaining("dead-lettered again (2026-01-01T00:05:00.000Z)"),
    });
    expect(outcomes[1]).toMatchObject({ outcome: "delivered" });
  });

  it("the table truncates the error and marks replayed ones; JSON has base64 for bytes that are not UTF-8", () => {
    const table = formatDeadLetters(letters, new Set([`a\u0000${letters[0]!.ts}`]));
    const rows = table.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^ID\s+KEY\s+STAGE\s+CODE\s+ERROR\s+ATTEMPTS\s+TIME\s+REPLAYED$/);
    expect(rows[1]).toMatch(/STAGE_FAILED\s+x{59}…\s+2\s+2026-01-01T00:00:00.000Z\s+yes$/);
    expect(rows[2]).toMatch(/\s-$/);
    expect(deadLetterJson(letters[1]!, new Set())).toMatchObject({ valueBase64: "/w==", replayed: false });
    expect(deadLetterJson(letters[0]!, new Set())).toMatchObject({ value: "ok" });
    expect(formatDeadLetters([], new Set())).toBe("no dead letters\n");
  });
});

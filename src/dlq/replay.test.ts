import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toNdjsonLine } from "../builtins/file/ndjson-writer";
import { deadLetterKey, parseDeadLetters, type ReplayRecord } from "./dead-letters";
import { loadDeadLetters, resolveDeadLetterFiles } from "./dead-letter-files";
import { planReplay, replayDeadLetters } from "./replay";
import { appendJournal, journalPath, parseJournal, readJournal } from "./replay-journal";
import { ConveyorError } from "../errors";

function line(id: string, stage: string, ts: string): string {
  return toNdjsonLine({
    id,
    key: Buffer.alloc(0),
    value: Buffer.from("v"),
    headers: { _dlq_error: "STAGE_FAILED: no", _dlq_stage: stage, _dlq_attempts: "1", _dlq_ts: ts },
    eventTimeMs: 0,
  });
}

describe("replay journal", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-dlq-unit-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("appends id + ts lines next to the dead-letter file and reads them back; a bad line is a warning", async () => {
    const file = path.join(dir, "p-a.ndjson");
    expect((await readJournal(file)).replayed.size).toBe(0);
    await appendJournal(file, [{ id: "a", ts: "T1", replayedAt: "R" }]);
    await appendJournal(file, [{ id: "b", ts: "T2", replayedAt: "R" }]);
    fs.appendFileSync(journalPath(file), "garbage\n");
    const { replayed, warnings } = await readJournal(file);
    expect(replayed).toEqual(
      new Set([deadLetterKey({ id: "a", ts: "T1" }), deadLetterKey({ id: "b", ts: "T2" })]),
    );
    expect(warnings).toEqual([expect.objectContaining({ line: 3, file: journalPath(file) })]);
    expect(parseJournal('{"id":"x"}\n', "j").warnings).toHaveLength(1);
  });

  it("names missing files and directories clearly", async () => {
    await expect(resolveDeadLetterFiles({ files: [path.join(dir, "nope.ndjson")] })).rejects.toThrow(
      /nope.ndjson does not exist/,
    );
    await expect(resolveDeadLetterFiles({ dir: path.join(dir, "nodir") })).rejects.toThrow(/does not exist/);
    await expect(resolveDeadLetterFiles({ dir, pipeline: "other" })).rejects.toThrow(/no dead-letter files/);
  });
});

describe("replayDeadLetters", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-dlq-unit-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("injects per stage in batches, journals what was confirmed, reports refusals; a second plan skips the journaled", async () => {
    const file = path.join(dir, "p-b.ndjson");
    fs.writeFileSync(
      file,
      line("a", "check", "2026-01-01T00:00:00Z") +
        line("b", "check", "2026-01-01T00:00:01Z") +
        line("c", "check", "2026-01-01T00:00:02Z") +
        line("d", "sink", "2026-01-01T00:00:03Z"),
    );
    const calls: Array<[string, string[]]> = [];
    const inject = (stage: string, records: ReplayRecord[]): Promise<void> => {
      calls.push([stage, records.map((r) => r.id)]);
      return stage === "sink"
        ? Promise.reject(new ConveyorError("NO_ROUTE", "nobody runs sink"))
        : Promise.resolve();
    };
    const files = await resolveDeadLetterFiles({ dir, pipeline: "p" });
    const first = await loadDeadLetters(files);
    const plan = planReplay(first.letters, first.replayed, false);
    const outcomes = await replayDeadLetters(plan.send, { inject, batchSize: 2 });
    expect(calls).toEqual([
      ["check", ["a", "b"]],
      ["check", ["c"]],
      ["sink", ["d"]],
    ]);
    expect(outcomes.map((o) => [o.letter.id, o.outcome])).toEqual([
      ["a", "delivered"],
      ["b", "delivered"],
      ["c", "delivered"],
      ["d", "failed"],
    ]);
    expect(outcomes[3]).toMatchObject({ code: "NO_ROUTE", reason: "nobody runs sink" });

    const second = await loadDeadLetters(files);
    const again = planReplay(second.letters, second.replayed, false);
    expect(again.send.map((d) => d.id)).toEqual(["d"]);
    expect(again.skipped.map((d) => d.id)).toEqual(["a", "b", "c"]);
    expect(planReplay(second.letters, second.replayed, true).send).toHaveLength(4);
    // A limit counts what is sent, not what the journal skips.
    expect(planReplay(second.letters, second.replayed, true, 2).send.map((d) => d.id)).toEqual(["a", "b"]);
    expect(planReplay(second.letters, second.replayed, false, 1).send.map((d) => d.id)).toEqual(["d"]);
  });

  it("a record dead-lettered again after a replay is a new dead letter (new ts), not journaled yet", () => {
    const { letters } = parseDeadLetters(line("a", "check", "2026-01-01T09:00:00Z"), "f");
    const replayed = new Set([deadLetterKey({ id: "a", ts: "2026-01-01T00:00:00Z" })]);
    expect(planReplay(letters, replayed, false).send).toHaveLength(1);
  });
});

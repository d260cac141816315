import { makeRecord } from "../src/records";
import type { Record, RecordError } from "../src/stages/contract";
import { deadLetterRecord, retryFailedRecords } from "./record-retries";

const rec = (id: string): Record => makeRecord({ id, value: Buffer.from(id) });
const retryable = (message: string): RecordError => ({ message, retryable: true, code: "" });
const fatal = (message: string): RecordError => ({ message, retryable: false, code: "BAD" });

describe("retryFailedRecords", () => {
  const policy = { maxRetries: 3, backoffMs: 100, maxBackoffMs: 250 };

  it("retries only the failed records, until they succeed", async () => {
    const calls: string[][] = [];
    let flaky = 2; // "b" fails twice, then works
    const dead = await retryFailedRecords(
      [rec("a"), rec("b"), rec("c")],
      async (batch) => {
        calls.push(batch.map((r) => r.id));
        return batch.map((r) => (r.id === "b" && flaky-- > 0 ? retryable("busy") : null));
      },
      policy,
      { sleep: async () => undefined },
    );
    expect(dead).toEqual([]);
    expect(calls).toEqual([["a", "b", "c"], ["b"], ["b"]]);
  });

  it("gives up after maxRetries retries and reports the attempts made", async () => {
    let calls = 0;
    const dead = await retryFailedRecords(
      [rec("ok"), rec("poison")],
      async (batch) => {
        calls++;
        return batch.map((r) => (r.id === "poison" ? retryable("always fails") : null));
      },
      policy,
      { sleep: async () => undefined },
    );
    expect(calls).toBe(4); // the first attempt and 3 retries
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      record: { id: "poison" },
      attempts: 4,
      error: { message: "always fails" },
    });
  });

  it("does not retry a non-retryable error", async () => {
    let calls = 0;
    const dead = await retryFailedRecords(
      [rec("x")],
      async (batch) => {
        calls++;
        return batch.map(() => fatal("malformed"));
      },
      policy,
      { sleep: async () => undefined },
    );
    expect(calls).toBe(1);
    expect(dead).toMatchObject([{ attempts: 1, error: { message: "malformed", retryable: false } }]);
  });

  it("sleeps with exponential backoff and jitter, capped at maxBackoffMs", async () => {
    const delays: number[] = [];
    await retryFailedRecords([rec("x")], async (batch) => batch.map(() => retryable("no")), policy, {
      sleep: async (ms) => void delays.push(ms),
    });
    expect(delays).toHaveLength(3);
    // Half fixed, half random: ceilings 100, 200, 250 (capped).
    [100, 200, 250].forEach((ceiling, i) => {
      expect(delays[i]).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delays[i]).toBeLessThanOrEqual(ceiling);
    });
  });

  it("maxRetries 0 dead-letters at the first failure", async () => {
    const dead = await retryFailedRecords(
      [rec("x")],
      async (batch) => batch.map(() => retryable("no")),
      { ...policy, maxRetries: 0 },
      {
        sleep: () => Promise.reject(new Error("must not sleep")),
      },
    );
    expect(dead).toMatchObject([{ attempts: 1 }]);
  });

  it("lets a failure of the whole attempt propagate (the caller retries the batch)", async () => {
    await expect(
      retryFailedRecords([rec("x")], () => Promise.reject(new Error("service down")), policy),
    ).rejects.toThrow("service down");
  });
});

describe("deadLetterRecord", () => {
  it("keeps the record and its headers and adds the _dlq_ headers", () => {
    const record = { ...rec("r1"), headers: { origin: "test" } };
    const out = deadLetterRecord(
      { record, error: { message: "bad json", retryable: false, code: "INVALID_RECORD" }, attempts: 1 },
      "parse",
      Date.UTC(2026, 10, 23, 12, 0, 0),
    );
    expect(out.id).toBe("r1");
    expect(out.value).toEqual(record.value);
    expect(out.headers).toEqual({
      origin: "test",
      _dlq_error: "INVALID_RECORD: bad json",
      _dlq_stage: "parse",
      _dlq_attempts: "1",
      _dlq_ts: "2026-11-23T12:00:00.000Z",
    });
  });
});

import { newestResumeId, type LastRecord } from "./kafka-resume";

const rec = (
  partition: number,
  timestampMs: number,
  headers: LastRecord["headers"],
  key?: string,
): LastRecord => ({
  partition,
  key,
  headers,
  timestampMs,
});

describe("newestResumeId", () => {
  it("nothing to resume from an empty topic", () => {
    expect(newestResumeId([])).toBeUndefined();
    expect(newestResumeId([rec(0, 5, {}, "enwiki")])).toBeUndefined(); // a key that is no SSE id
  });

  it("the newest record by the timestamp in Wikimedia ids, as pleiades read them", () => {
    const id = (ts: number): string =>
      `[{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":${ts}}]`;
    // record timestamps disagree on purpose: the id's own timestamp wins when every id has one
    expect(
      newestResumeId([
        rec(0, 900, { "relay-event-id": id(100) }),
        rec(1, 100, { "relay-event-id": id(300) }),
        rec(2, 500, { "relay-event-id": id(200) }),
      ]),
    ).toBe(id(300));
  });

  it("else by the record timestamp; relay-resume-id before relay-event-id; pleiades' key = id", () => {
    expect(
      newestResumeId([
        rec(0, 10, { "relay-event-id": "a" }),
        rec(1, 30, { "relay-event-id": "rc-9", "relay-resume-id": "b" }),
        rec(2, 20, { "relay-event-id": "c" }),
      ]),
    ).toBe("b");
    expect(newestResumeId([rec(0, 10, {}, '[{"partition":0,"offset":7}]')])).toBe(
      '[{"partition":0,"offset":7}]',
    );
  });
});

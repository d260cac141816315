import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { segmentName } from "./chain";
import { FilesystemSegmentStore } from "./destination-filesystem";
import { SegmentDestination, type SegmentStore } from "./destination-segments";
import type { Segment } from "./chain";
import { PartitionMirror } from "./partition-mirror";
import { decodeSegment, type MirrorRecord } from "./record-line";
import { SourceOffsetOutOfRange, type PartitionSource, type Watermarks } from "./source-kafka";

const log = pino({ level: "silent" });

async function waitFor(ok: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !ok();) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

class FakeSource implements PartitionSource {
  private onRecords: ((records: MirrorRecord[], through: number) => Promise<void>) | undefined;
  /** Delivers records; `through` (the offsets the source's answer covered) defaults to the last record + 1. */
  deliver: ((records: MirrorRecord[], through?: number) => Promise<void>) | undefined;
  crash: ((err: Error) => void) | undefined;
  from = -1;
  constructor(public wm: Watermarks) {}
  fetchedHigh: number | undefined;
  async watermarks(): Promise<Watermarks> {
    return this.wm;
  }
  lastHighWatermark(): number | undefined {
    return this.fetchedHigh;
  }
  async start(
    takeOver: () => Promise<number>,
    onRecords: (records: MirrorRecord[], through: number) => Promise<void>,
    onCrash: (err: Error) => void,
  ): Promise<void> {
    this.from = await takeOver();
    this.onRecords = onRecords;
    this.deliver = (records, through) =>
      onRecords(records, through ?? (records.length > 0 ? records.at(-1)!.offset + 1 : this.from));
    this.crash = onCrash;
  }
  async stop(): Promise<void> {
    this.deliver = undefined;
  }
}

const rec = (offset: number): MirrorRecord => ({
  offset,
  timestamp: 1,
  timestampType: "create_time",
  key: null,
  value: Buffer.from(`v-${offset}`),
  headers: [],
});
const range = (from: number, to: number): MirrorRecord[] =>
  Array.from({ length: to - from + 1 }, (_, i) => rec(from + i));

describe("PartitionMirror", () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-mirror-core-"));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function mirror(
    source: FakeSource,
    maxTimeMs = 60_000,
    store: SegmentStore = new FilesystemSegmentStore(root, "t", 0),
  ): PartitionMirror {
    return new PartitionMirror({
      name: "m",
      topic: "t",
      partition: 0,
      startOffset: 0,
      flush: { maxOffsets: 4, maxBytes: 1 << 20, maxTimeMs },
      source,
      destination: new SegmentDestination(store, {
        topic: "t",
        partition: 0,
        format: "ndjson",
        compression: "zstd-1",
      }),
      log,
      retryBudgetMs: 300,
    });
  }
  const files = (): string[] => fs.readdirSync(path.join(root, "t", "0")).sort();

  it("flushes every max-offsets records, skips offsets already copied, restarts after the last segment", async () => {
    const source = new FakeSource({ low: 0, high: 10 });
    const m = mirror(source);
    await m.start();
    expect(source.from).toBe(0);
    await source.deliver!(range(0, 5));
    await source.deliver!(range(3, 9)); // 3..5 again (before a seek took effect): skipped
    await m.stop();
    expect(files()).toEqual([
      segmentName(0, 3, "ndjson"),
      segmentName(4, 7, "ndjson"),
      segmentName(8, 9, "ndjson"),
    ]);

    const again = new FakeSource({ low: 0, high: 10 });
    const m2 = mirror(again);
    await m2.start();
    expect(again.from).toBe(10);
    await m2.stop();
  });

  it("says where it stands: source high (the newer of the checked and the fetched), destination next, last flush", async () => {
    const source = new FakeSource({ low: 0, high: 10 });
    const m = mirror(source);
    expect(m.progress()).toMatchObject({ sourceHigh: null, destNext: null, lastFlushMs: null });
    await m.start();
    expect(m.progress()).toEqual({
      name: "m",
      topic: "t",
      partition: 0,
      sourceHigh: 10,
      destNext: 0,
      lastFlushMs: null,
      state: "running",
      error: "",
    });
    const before = Date.now();
    source.fetchedHigh = 12;
    await source.deliver!(range(0, 5));
    for (let i = 0; i < 100 && m.progress().destNext === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const p = m.progress();
    expect(p).toMatchObject({ sourceHigh: 12, destNext: 4 });
    expect(p.lastFlushMs).toBeGreaterThanOrEqual(before);
    await m.stop();
  });

  it("flushes on max-time", async () => {
    const source = new FakeSource({ low: 0, high: 2 });
    const m = mirror(source, 50);
    await m.start();
    await source.deliver!(range(0, 1));
    for (let i = 0; i < 50 && !fs.existsSync(path.join(root, "t", "0", segmentName(0, 1, "ndjson"))); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await m.stop();
    expect(files()).toEqual([segmentName(0, 1, "ndjson")]);
  });

  it("offset gaps the source proved (compaction, markers) are covered: each segment holds the records in its range", async () => {
    const source = new FakeSource({ low: 0, high: 20 });
    const m = mirror(source, 50);
    await m.start();
    await source.deliver!([rec(0), rec(2), rec(3)], 6); // 1, 4, 5: no record (the broker's batches said so)
    await source.deliver!([rec(6), rec(9)], 10); // max-offsets 4 reached at 6: segment 0-6
    await source.deliver!([], 12); // only markers / aborted records: 10-11 hold nothing
    await waitFor(() => files().length === 2); // the max-time flush of 7-11 (records 9)
    await m.stop();
    expect(files()).toEqual([segmentName(0, 6, "ndjson"), segmentName(7, 11, "ndjson")]);
    const offsets = files().map((f) =>
      decodeSegment(fs.readFileSync(path.join(root, "t", "0", f), "utf8")).map((r) => r.offset),
    );
    expect(offsets).toEqual([[0, 2, 3, 6], [9]]);
    expect(m.nextOffset).toBe(12);
    // A restart continues after the covered range.
    const again = new FakeSource({ low: 0, high: 20 });
    const m2 = mirror(again);
    await m2.start();
    expect(again.from).toBe(12);
    await m2.stop();
  });

  it("refuses to start when the source went backwards or lost the expected offset", async () => {
    const first = new FakeSource({ low: 0, high: 4 });
    const m = mirror(first);
    await m.start();
    await first.deliver!(range(0, 3));
    await m.stop();
    await expect(mirror(new FakeSource({ low: 0, high: 2 })).start()).rejects.toMatchObject({
      code: "MIRROR_SOURCE_BACKWARDS",
    });
    await expect(mirror(new FakeSource({ low: 7, high: 9 })).start()).rejects.toThrow(/low watermark is 7/);
  });

  it.each([
    [
      { low: 0, high: 1 },
      "MIRROR_SOURCE_BACKWARDS",
      /high watermark is 1 but the destination holds offsets up to 1/,
    ],
    [
      { low: 5, high: 9 },
      "MIRROR_OFFSET_GONE",
      /offset 2 of t\/0 is gone from the source: its low watermark is 5/,
    ],
    [{ low: 0, high: 9 }, "MIRROR_SOURCE_UNREACHABLE", /offset 2 is out of range/],
  ])("an offset out of range while running is named by the watermarks %j", async (wm, code, message) => {
    const source = new FakeSource({ low: 0, high: 9 });
    const m = mirror(source);
    await m.start();
    await source.deliver!(range(0, 1));
    source.wm = wm;
    source.crash!(new SourceOffsetOutOfRange(2));
    const err = await m.finished;
    expect(err).toMatchObject({ code });
    expect(err?.message).toMatch(message);
    await m.stop();
  });

  it("a source that gives up stops the mirror with MIRROR_SOURCE_UNREACHABLE", async () => {
    const source = new FakeSource({ low: 0, high: 9 });
    const m = mirror(source);
    await m.start();
    source.crash!(new Error("cannot connect to broker 127.0.0.1:1 (still failing after 30000 ms)"));
    await expect(m.finished).resolves.toMatchObject({
      code: "MIRROR_SOURCE_UNREACHABLE",
      message: expect.stringMatching(/source failed: cannot connect to broker/),
    });
    await m.stop();
  });

  /** The filesystem store, with failures injected. */
  class FlakyStore extends FilesystemSegmentStore {
    failList = 0;
    /** Writes that land and then report a failure (a timeout after the write took effect). */
    landThenFail = 0;
    failWrite = 0;
    writes = 0;
    constructor() {
      super(root, "t", 0);
    }
    async list(after?: string): Promise<string[]> {
      if (this.failList > 0) {
        this.failList--;
        throw new Error("connect ECONNREFUSED");
      }
      return super.list(after);
    }
    async write(segment: Segment, body: readonly Buffer[]): Promise<string> {
      this.writes++;
      if (this.failWrite > 0) throw new Error("socket hang up");
      const where = await super.write(segment, body);
      if (this.landThenFail > 0) {
        this.landThenFail--;
        throw new Error("request timed out");
      }
      return where;
    }
  }

  it("a write that landed but reported a failure is not written again (checked before the retry)", async () => {
    const store = new FlakyStore();
    store.landThenFail = 1;
    const source = new FakeSource({ low: 0, high: 8 });
    const m = mirror(source, 60_000, store);
    await m.start();
    await source.deliver!(range(0, 7));
    await m.stop();
    expect(m.error).toBeUndefined();
    expect(files()).toEqual([segmentName(0, 3, "ndjson"), segmentName(4, 7, "ndjson")]);
    expect(store.writes).toBe(2);
    expect(m.nextOffset).toBe(8);
  });

  it("transient write failures past the retry budget: MIRROR_DESTINATION_UNREACHABLE naming the offsets", async () => {
    const store = new FlakyStore();
    store.failWrite = 1;
    const source = new FakeSource({ low: 0, high: 8 });
    const m = mirror(source, 60_000, store);
    await m.start();
    await source.deliver!(range(0, 3));
    const err = await m.finished;
    expect(err).toMatchObject({ code: "MIRROR_DESTINATION_UNREACHABLE" });
    expect(err?.message).toMatch(
      /^destination \S+ unreachable: cannot write offsets 0-3 after \d+ attempt\(s\) in \d+ ms \(retry budget 300 ms\): socket hang up$/,
    );
    expect(store.writes).toBeGreaterThan(1);
    await m.stop();
  });

  it("an unreachable destination at start is retried, then fails with MIRROR_DESTINATION_UNREACHABLE", async () => {
    const store = new FlakyStore();
    store.failList = 1;
    const ok = mirror(new FakeSource({ low: 0, high: 0 }), 60_000, store);
    await ok.start(); // one failure, then the listing works
    await ok.stop();
    store.failList = 1000;
    await expect(mirror(new FakeSource({ low: 0, high: 0 }), 60_000, store).start()).rejects.toMatchObject({
      code: "MIRROR_DESTINATION_UNREACHABLE",
      message: expect.stringContaining("cannot open after"),
    });
  });

  it("a segment another writer added is seen before the next flush: MIRROR_DESTINATION_CHANGED naming it", async () => {
    const source = new FakeSource({ low: 0, high: 12 });
    const m = mirror(source);
    await m.start();
    await source.deliver!(range(0, 3));
    // deliver() returns while its flush is written (the next batch fills meanwhile): wait for it.
    for (let i = 0; i < 100 && m.nextOffset < 4; i++) await new Promise((r) => setTimeout(r, 10));
    expect(m.nextOffset).toBe(4);
    const intruder = path.join(root, "t", "0", segmentName(4, 5, "ndjson"));
    fs.writeFileSync(intruder, "");
    await source.deliver!(range(4, 7));
    const err = await m.finished;
    expect(err).toMatchObject({ code: "MIRROR_DESTINATION_CHANGED" });
    expect(err?.message).toContain(intruder);
    await m.stop();
    expect(files()).toEqual([segmentName(0, 3, "ndjson"), segmentName(4, 5, "ndjson")]);
  });
});

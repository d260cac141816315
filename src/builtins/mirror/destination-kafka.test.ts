import { KafkaBatch, parseSourceHeader, SOURCE_HEADER, sourceHeaderValue } from "./destination-kafka";
import { firstGap, OffsetPreservingKafkaDestination, resumePoint } from "./destination-kafka-offsets";
import pino from "pino";
import { partitionKeyPrefix } from "./destination-s3";

describe("KafkaBatch", () => {
  const rec = (offset: number, valueBytes: number) => ({
    offset,
    timestamp: 1700000000000 + offset,
    timestampType: "create_time" as const,
    key: Buffer.from(`k${offset}`),
    value: Buffer.alloc(valueBytes, 1),
    headers: [
      ["a", Buffer.from("1")],
      ["b", Buffer.from("2")],
      ["a", Buffer.from("3")],
    ] as Array<[string, Buffer]>,
  });

  it("targets the same partition, keeps key, value, timestamp and headers, and names the source offset", () => {
    const b = new KafkaBatch(3, "orders", 3);
    b.add(rec(41, 10));
    const [m] = b.messages;
    expect(m).toMatchObject({ partition: 3, key: Buffer.from("k41"), timestamp: "1700000000041" });
    expect(m!.headers).toEqual({
      a: [Buffer.from("1"), Buffer.from("3")],
      b: Buffer.from("2"),
      [SOURCE_HEADER]: Buffer.from("orders/3@41"),
    });
    expect(parseSourceHeader(m!.headers)).toEqual({ topic: "orders", partition: 3, offset: 41 });
  });

  it("cuts produce requests below 900 KB, every record in order exactly once", () => {
    const b = new KafkaBatch(0, "t", 0);
    for (let i = 0; i < 3000; i++) b.add(rec(i, 1000));
    const chunks = b.chunks();
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.flat()).toEqual(b.messages);
    expect(b.count).toBe(3000);
    expect(b.bytes).toBeGreaterThan(3000 * 1000);
  });

  it("reads the last source header of a mirror of a mirror; none or garbage is undefined", () => {
    expect(
      parseSourceHeader({
        [SOURCE_HEADER]: [Buffer.from("a/0@1"), Buffer.from(sourceHeaderValue("b", 2, 9))],
      }),
    ).toEqual({ topic: "b", partition: 2, offset: 9 });
    expect(parseSourceHeader({ other: "x" })).toBeUndefined();
    expect(parseSourceHeader({ [SOURCE_HEADER]: "nonsense" })).toBeUndefined();
  });
});

describe("offset-preserving Kafka destination", () => {
  const rec = (offset: number) => ({
    offset,
    timestamp: 1700000000000 + offset,
    timestampType: "create_time" as const,
    key: Buffer.from(`k${offset}`),
    value: Buffer.from(`v${offset}`),
    headers: [["h", Buffer.from("x")]] as Array<[string, Buffer]>,
  });
  const destination = (): OffsetPreservingKafkaDestination =>
    new OffsetPreservingKafkaDestination({
      brokers: ["127.0.0.1:1"], // never dialled: the batch is refused before anything is sent
      topic: "copy",
      partition: 0,
      sourceTopic: "orders",
      sourcePartition: 0,
      clientId: "unit",
      log: pino({ level: "silent" }),
    });

  it("batches the records as they are: their own headers only, their source offsets kept beside them", () => {
    const b = destination().newBatch();
    b.add(rec(7));
    b.add(rec(8));
    expect(b.offsets).toEqual([7, 8]);
    expect(b.messages.map((m) => m.headers)).toEqual([{ h: Buffer.from("x") }, { h: Buffer.from("x") }]);
    expect(b.messages[1]).toMatchObject({ partition: 0, key: Buffer.from("k8"), timestamp: "1700000000008" });
    expect(b.chunks(1)).toEqual([[b.messages[1]]]); // a retry sends the rest of a batch only
  });

  it("finds the first gap in a batch's offsets", () => {
    expect(firstGap([5, 6, 7], 5)).toBeUndefined();
    expect(firstGap([5, 6, 9, 10], 5)).toEqual({ missingFrom: 7, found: 9 });
    expect(firstGap([8], 5)).toEqual({ missingFrom: 5, found: 8 });
  });

  it("resumes a batch a failed attempt landed part of, and only that", () => {
    const pending = { from: 100, to: 199 };
    expect(resumePoint(pending, 100, 150)).toBe(150); // 100-149 landed: send 150-199
    expect(resumePoint(pending, 100, 100)).toBeUndefined(); // nothing landed: write it all
    expect(resumePoint(pending, 100, 200)).toBeUndefined(); // all landed: the core sees the batch is there
    expect(resumePoint(pending, 100, 230)).toBeUndefined(); // beyond the batch: another writer
    expect(resumePoint(undefined, 100, 150)).toBeUndefined(); // no failed attempt: another writer
    expect(resumePoint(pending, 90, 150)).toBeUndefined(); // another batch
  });

  it("refuses a batch with a gap (compaction, transaction markers) before writing anything: MIRROR_OFFSET_GONE", async () => {
    const d = destination();
    const b = d.newBatch();
    for (const o of [10, 11, 14]) b.add(rec(o));
    await expect(d.write(10, 14, b)).rejects.toMatchObject({
      code: "MIRROR_OFFSET_GONE",
      details: { expected: 12, actual: 14 },
      message: expect.stringContaining(
        "offset(s) 12-13 of orders/0 hold no record (compaction, or transaction markers and aborted records): " +
          "kafka://copy/0 is offset-preserving",
      ),
    });
    const first = d.newBatch();
    first.add(rec(3));
    await expect(d.write(2, 3, first)).rejects.toMatchObject({ code: "MIRROR_OFFSET_GONE" });
    await d.close();
  });
});

describe("partitionKeyPrefix (S3)", () => {
  it("joins prefix, destination name and partition, ignoring stray slashes", () => {
    expect(partitionKeyPrefix("", "orders", 0)).toBe("orders/0");
    expect(partitionKeyPrefix("/archive/2024/", "orders", 7)).toBe("archive/2024/orders/7");
  });
});

import { KafkaBatch, parseSourceHeader, SOURCE_HEADER, sourceHeaderValue } from "./destination-kafka";
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

describe("partitionKeyPrefix (S3)", () => {
  it("joins prefix, destination name and partition, ignoring stray slashes", () => {
    expect(partitionKeyPrefix("", "orders", 0)).toBe("orders/0");
    expect(partitionKeyPrefix("/archive/2024/", "orders", 7)).toBe("archive/2024/orders/7");
  });
});

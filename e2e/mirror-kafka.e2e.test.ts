/**
 * The exactly-once mirror Kafka → Kafka on a real broker, through the real CLI
 * as a child process. Transactional mode: kill -9 mid-run and restart, a second
 * writer fencing the first, a source whose expected offset was removed
 * (deleteRecords) before it was mirrored; the target is read back with
 * read_committed (kcat), as a downstream consumer would. Offset-preserving mode
 * (mirror-v3's target): continuing a target mirror-v3 wrote, across a kill -9,
 * with target offsets equal to source offsets and no header added; a source
 * gap refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { SOURCE_HEADER } from "../src/builtins/mirror/destination-kafka";
import { eventually } from "./harness/pipeline";
import { lastFlushedTo, mirrorTestBed } from "./harness/mirror";

jest.setTimeout(90_000);

describe("mirror Kafka → Kafka (real Kafka broker)", () => {
  const bed = mirrorTestBed("mirror-kafka");
  const { dir } = bed;

  const createSourceAndTarget = (...topics: string[]): Promise<void> => bed.createTopics(topics);

  const produce = (topic: string, from: number, count: number, valueBytes = 0): Promise<void> =>
    bed.produce(topic, from, count, { valueBytes, headers: { h: "x" } });

  function writeConfig(
    name: string,
    mirror: { name: string; topic: string; target: string },
    flush: Record<string, number>,
    extra: string[] = [],
  ): string {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(
      file,
      [
        "destination:",
        "  type: kafka",
        `  bootstrap-servers: "${bed.broker.bootstrap}"`,
        ...extra.map((l) => `  ${l}`),
        `  flush: { ${Object.entries(flush)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")} }`,
        "mirrors:",
        `  - { name: ${mirror.name}, source: { bootstrap-servers: "${bed.broker.bootstrap}" }, topic: ${mirror.topic}, ` +
          `partition: 0, destination-name-override: ${mirror.target} }`,
        "",
      ].join("\n"),
    );
    return file;
  }

  const startMirror = (config: string) => bed.startMirror(config);

  interface TargetRecord {
    offset: number;
    source: string;
    key: string;
    value: string;
  }

  /** The target partition as a consumer with the given isolation level sees it (kcat, to the end). */
  function readTarget(topic: string, isolation: "read_committed" | "read_uncommitted"): TargetRecord[] {
    return bed.kcatRead(topic, isolation).map(({ offset, headers, key, value }) => {
      const source = headers.split(",").find((h) => h.startsWith(`${SOURCE_HEADER}=`)) ?? "";
      return { offset, source: source.slice(SOURCE_HEADER.length + 1), key, value };
    });
  }

  /** The target holds source offsets 0..count-1 exactly once, in order, each with its key, value and header. */
  function expectExactly(sourceTopic: string, target: string, count: number, valueBytes = 0): void {
    const got = readTarget(target, "read_committed");
    expect(got.map((r) => r.source)).toEqual(
      Array.from({ length: count }, (_, i) => `${sourceTopic}/0@${i}`),
    );
    const pad = "x".repeat(valueBytes);
    got.forEach((r, i) => {
      expect(r.key).toBe(`k-${i}`);
      expect(r.value).toBe(`v-${i}${pad}`);
    });
  }

  it("kill -9 mid-run, more records, restart: the target holds every source offset exactly once (read_committed)", async () => {
    await createSourceAndTarget("orders", "orders-copy");
    await produce("orders", 0, 20_000, 200);
    const config = writeConfig(
      "crash",
      { name: "orders", topic: "orders", target: "orders-copy" },
      { "max-offsets": 700, "max-time-ms": 200 },
    );
    const first = startMirror(config);
    await eventually(
      () => lastFlushedTo(first) >= 2000,
      40_000,
      () => first.output().slice(-3000),
    );
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(lastFlushedTo(first)).toBeLessThan(19_999); // really mid-run
    await produce("orders", 20_000, 500, 200);

    const second = startMirror(config);
    const start = await second.waitForOutput(
      /"next":(\d+),[^\n]*"msg":"mirror starting: destination chain valid"/,
      30_000,
    );
    expect(Number(start[1])).toBeGreaterThan(2000); // continued from the target, not from 0
    await eventually(
      () => lastFlushedTo(second) === 20_499,
      60_000,
      () => second.output().slice(-3000),
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    expectExactly("orders", "orders-copy", 20_500, 200);
    // status reads the target's last committed record (without fencing anyone).
    const status = await bed.cli(["mirror", "status", "--config", config, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({
        name: "orders",
        source_high: 20_500,
        dest_next: 20_500,
        lag: 0,
      }),
    ]);
    // Headers of the source survive, ours is added.
    expect(readTarget("orders-copy", "read_committed")[0]!.source).toBe("orders/0@0");
  });

  it("a second writer fences the first (same transactional id): the first stops, nothing is written twice", async () => {
    await createSourceAndTarget("fence", "fence-copy");
    await produce("fence", 0, 100);
    const flush = { "max-offsets": 10, "max-time-ms": 600_000 };
    const a = startMirror(
      writeConfig("fence-a", { name: "fence-a", topic: "fence", target: "fence-copy" }, flush),
    );
    await eventually(
      () => lastFlushedTo(a) === 99,
      30_000,
      () => a.output().slice(-3000),
    );
    // Another config (another name, so another source consumer group) writing the same target partition.
    const b = startMirror(
      writeConfig("fence-b", { name: "fence-b", topic: "fence", target: "fence-copy" }, flush),
    );
    await b.waitForOutput(/"next":100,[^\n]*"msg":"mirror starting: destination chain valid"/, 30_000);
    await produce("fence", 100, 10);

    await eventually(
      () => !a.running,
      40_000,
      () => `a: ${a.output().slice(-2500)}\nb: ${b.output().slice(-2500)}`,
    );
    expect(await a.exited).toEqual({ code: 1, signal: null });
    expect(a.output()).toContain("MIRROR_DESTINATION_CHANGED");
    expect(a.output()).toContain("kafka://fence-copy/0");
    await eventually(
      () => lastFlushedTo(b) === 109,
      30_000,
      () => b.output().slice(-3000),
    );
    expect(await b.stop()).toEqual({ code: 0, signal: null });
    expectExactly("fence", "fence-copy", 110);
  });

  it("the expected offset was removed from the source (deleteRecords): refuses with the low watermark", async () => {
    await createSourceAndTarget("gone", "gone-copy");
    await produce("gone", 0, 50);
    const config = writeConfig(
      "gone",
      { name: "gone", topic: "gone", target: "gone-copy" },
      { "max-offsets": 10, "max-time-ms": 200 },
    );
    const first = startMirror(config);
    await eventually(
      () => lastFlushedTo(first) === 49,
      30_000,
      () => first.output().slice(-3000),
    );
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    await produce("gone", 50, 50);
    const admin = bed.kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: ["gone"] });
    await admin.deleteTopicRecords({ topic: "gone", partitions: [{ partition: 0, offset: "80" }] });
    await admin.disconnect();

    const second = startMirror(config);
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(second.output()).toContain(
      "MIRROR_OFFSET_GONE: offset 50 of gone/0 is gone from the source: its low watermark is 80",
    );
    expectExactly("gone", "gone-copy", 50);
  });

  it("a target topic that does not exist: the mirror refuses to start, naming it", async () => {
    const config = writeConfig(
      "missing",
      { name: "missing", topic: "gone", target: "no-such-topic" },
      { "max-offsets": 10 },
    );
    const mirror = startMirror(config);
    expect(await mirror.exited).toEqual({ code: 1, signal: null });
    expect(mirror.output()).toContain(
      "MIRROR_DESTINATION_INVALID: target topic no-such-topic does not exist: create it with at least 1 partition(s)",
    );
  });

  it("offset-preserving continues a target mirror-v3 wrote, across kill -9: target offset = source offset, no header added", async () => {
    await createSourceAndTarget("v3", "v3-copy");
    await produce("v3", 0, 6000, 200);
    // mirror-v3 copied offsets 0-999 before: the same records at the same offsets, their own headers only.
    await produce("v3-copy", 0, 1000, 200);
    const preserving = ["mode: offset-preserving"];
    const flush = { "max-offsets": 500, "max-time-ms": 200 };
    // The transactional mode refuses that target and says which mode continues it.
    const wrongMode = startMirror(
      writeConfig("v3-txn", { name: "v3", topic: "v3", target: "v3-copy" }, flush),
    );
    expect(await wrongMode.exited).toEqual({ code: 1, signal: null });
    expect(wrongMode.output()).toContain("is continued with mode: offset-preserving");

    const config = writeConfig("v3", { name: "v3", topic: "v3", target: "v3-copy" }, flush, preserving);
    const first = startMirror(config);
    await first.waitForOutput(/"next":1000,[^\n]*"msg":"mirror starting: destination chain valid"/, 30_000);
    await eventually(
      () => lastFlushedTo(first) >= 2500,
      30_000,
      () => first.output().slice(-3000),
    );
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(lastFlushedTo(first)).toBeLessThan(5999); // really mid-run
    await produce("v3", 6000, 500, 200);

    const second = startMirror(config);
    const start = await second.waitForOutput(
      /"next":(\d+),[^\n]*"msg":"mirror starting: destination chain valid"/,
      30_000,
    );
    expect(Number(start[1])).toBeGreaterThan(2500);
    await eventually(
      () => lastFlushedTo(second) === 6499,
      30_000,
      () => second.output().slice(-3000),
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    const target = bed.kcatRead("v3-copy", "read_uncommitted");
    const pad = "x".repeat(200);
    expect(target.map((r) => r.offset)).toEqual(Array.from({ length: 6500 }, (_, i) => i));
    target.forEach((r) => {
      expect(r).toEqual({
        offset: r.offset,
        headers: "h=x",
        key: `k-${r.offset}`,
        value: `v-${r.offset}${pad}`,
      });
    });
    const status = await bed.cli(["mirror", "status", "--config", config, "--format", "json"]);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({ name: "v3", source_high: 6500, dest_next: 6500, lag: 0 }),
    ]);
  });

  it("offset-preserving refuses a source gap (transaction markers) before writing past it: MIRROR_OFFSET_GONE", async () => {
    await createSourceAndTarget("gap", "gap-copy");
    const txProducer = bed.kafka.producer({
      transactionalId: "e2e-gap",
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await txProducer.connect();
    for (let t = 0; t < 2; t++) {
      const tx = await txProducer.transaction(); // 5 records, then the commit marker at offset 5 (11)
      await tx.send({
        topic: "gap",
        messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `t${t}-${i}` })),
      });
      await tx.commit();
    }
    await txProducer.disconnect();
    const config = writeConfig(
      "gap",
      { name: "gap", topic: "gap", target: "gap-copy" },
      { "max-offsets": 5, "max-time-ms": 200 },
      ["mode: offset-preserving"],
    );
    const mirror = startMirror(config);
    expect(await mirror.exited).toEqual({ code: 1, signal: null });
    expect(mirror.output()).toContain(
      "MIRROR_OFFSET_GONE: offset(s) 5-5 of gap/0 hold no record (compaction, or transaction markers and aborted records)",
    );
    // What was before the gap is there, at its own offsets; nothing after it.
    expect(bed.kcatRead("gap-copy", "read_uncommitted").map((r) => [r.offset, r.value])).toEqual(
      Array.from({ length: 5 }, (_, i) => [i, `t0-${i}`]),
    );
  });

  it("offset-preserving: another writer appended to the target: the mirror stops before writing its next batch", async () => {
    await createSourceAndTarget("op2", "op2-copy");
    await produce("op2", 0, 20);
    const config = writeConfig(
      "op2",
      { name: "op2", topic: "op2", target: "op2-copy" },
      { "max-offsets": 10, "max-time-ms": 300 },
      ["mode: offset-preserving"],
    );
    const mirror = startMirror(config);
    await eventually(
      () => lastFlushedTo(mirror) === 19,
      30_000,
      () => mirror.output().slice(-3000),
    );
    await bed.producer.send({ topic: "op2-copy", acks: -1, messages: [{ partition: 0, value: "foreign" }] });
    await produce("op2", 20, 10);
    expect(await mirror.exited).toEqual({ code: 1, signal: null });
    expect(mirror.output()).toContain(
      "MIRROR_DESTINATION_CHANGED: destination kafka://op2-copy/0 changed underneath the mirror: it now ends before offset 21",
    );
    expect(bed.kcatRead("op2-copy", "read_uncommitted").map((r) => r.value)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `v-${i}`),
      "foreign",
    ]);
  });

  it("offset-preserving refuses a target the transactional mode wrote (a commit marker, or its header last)", async () => {
    await createSourceAndTarget("tx-src", "tx-marker", "tx-header");
    await produce("tx-src", 0, 5);
    const txProducer = bed.kafka.producer({
      transactionalId: "e2e-marker",
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await txProducer.connect();
    const tx = await txProducer.transaction();
    await tx.send({ topic: "tx-marker", messages: [{ partition: 0, value: "v-0" }] });
    await tx.commit(); // record at 0, commit marker at 1
    await txProducer.disconnect();
    await bed.producer.send({
      topic: "tx-header",
      acks: -1,
      messages: [{ partition: 0, value: "v-0", headers: { [SOURCE_HEADER]: "tx-src/0@0" } }],
    });
    for (const [target, why] of [
      ["tx-marker", "kafka://tx-marker/0@1 was written in a transaction (the transactional mode?)"],
      ["tx-header", `kafka://tx-header/0@0 carries the ${SOURCE_HEADER} header of the transactional mode`],
    ] as const) {
      const config = writeConfig(
        target,
        { name: target, topic: "tx-src", target },
        { "max-offsets": 10, "max-time-ms": 200 },
        ["mode: offset-preserving"],
      );
      const mirror = startMirror(config);
      expect(await mirror.exited).toEqual({ code: 1, signal: null });
      expect(mirror.output()).toContain(
        `MIRROR_DESTINATION_INVALID: ${why}: its offsets are not the source's`,
      );
    }
  });
});

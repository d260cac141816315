/**
 * The exactly-once mirror Kafka → Kafka (transactions) on a real broker,
 * through the real CLI as a child process: kill -9 mid-run and restart, a
 * second writer fencing the first, and a source whose expected offset was
 * removed (deleteRecords) before it was mirrored. The target is read back with
 * read_committed (kcat), as a downstream consumer would.
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { ManagedProcess, REPO_ROOT } from "../src/cluster/managed-process";
import { SOURCE_HEADER } from "../src/builtins/mirror/destination-kafka";
import {
  createTopics,
  produceNumbered,
  startKafkaBroker,
  type KafkaBroker,
} from "../src/testing/kafka-broker";
import { toolPath } from "../src/testing/tools";
import { eventually } from "./harness/pipeline";

jest.setTimeout(90_000);

const CONVEYOR = path.join(REPO_ROOT, "bin", "conveyor");

describe("mirror Kafka → Kafka with transactions (real Kafka broker)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-mirror-kafka-"));
  let broker: KafkaBroker;
  let kafka: Kafka;
  let producer: Producer;
  const running: ManagedProcess[] = [];

  beforeAll(async () => {
    broker = await startKafkaBroker();
    kafka = new Kafka({
      clientId: "mirror-kafka-e2e",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    producer = kafka.producer({ idempotent: true, retry: { retries: 5 } });
    await producer.connect();
  }, 90_000);

  afterAll(async () => {
    for (const p of running) p.kill("SIGKILL");
    await Promise.all(running.map((p) => p.exited));
    await producer?.disconnect();
    await broker?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const createSourceAndTarget = (...topics: string[]): Promise<void> => createTopics(kafka, topics);

  const produce = (topic: string, from: number, count: number, valueBytes = 0): Promise<void> =>
    produceNumbered(producer, topic, from, count, { valueBytes, headers: { h: "x" } });

  function writeConfig(
    name: string,
    mirror: { name: string; topic: string; target: string },
    flush: Record<string, number>,
  ): string {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(
      file,
      [
        "destination:",
        "  type: kafka",
        `  bootstrap-servers: "${broker.bootstrap}"`,
        `  flush: { ${Object.entries(flush)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ")} }`,
        "mirrors:",
        `  - { name: ${mirror.name}, source: { bootstrap-servers: "${broker.bootstrap}" }, topic: ${mirror.topic}, ` +
          `partition: 0, destination-name-override: ${mirror.target} }`,
        "",
      ].join("\n"),
    );
    return file;
  }

  function startMirror(config: string): ManagedProcess {
    const p = new ManagedProcess(
      "mirror",
      CONVEYOR,
      ["mirror", "run", "--config", config, "--metrics-port", "0"],
      {
        ...process.env,
        LOG_LEVEL: "info",
      },
    );
    running.push(p);
    return p;
  }

  interface TargetRecord {
    offset: number;
    source: string;
    key: string;
    value: string;
  }

  /** The target partition as a consumer with the given isolation level sees it (kcat, to the end). */
  function readTarget(topic: string, isolation: "read_committed" | "read_uncommitted"): TargetRecord[] {
    const out = spawnSync(
      toolPath("kcat"),
      [
        "-C",
        "-b",
        broker.bootstrap,
        "-t",
        topic,
        "-p",
        "0",
        "-o",
        "beginning",
        "-e",
        "-q",
        "-X",
        `isolation.level=${isolation}`,
        "-f",
        "%o\t%h\t%k\t%s\n",
      ],
      { encoding: "utf8", timeout: 30_000, maxBuffer: 256 * 1024 * 1024 },
    );
    if (out.status !== 0) throw new Error(`kcat failed (${out.status}): ${out.stderr}`);
    return out.stdout
      .split("\n")
      .filter((l) => l.length > 0)
      .map((l) => {
        const [offset, headers, key, value] = l.split("\t") as [string, string, string, string];
        const source = headers.split(",").find((h) => h.startsWith(`${SOURCE_HEADER}=`)) ?? "";
        return { offset: Number(offset), source: source.slice(SOURCE_HEADER.length + 1), key, value };
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

  const lastFlushedTo = (p: ManagedProcess): number => {
    const all = [...p.output().matchAll(/"to":(\d+),"count"/g)].map((m) => Number(m[1]));
    return Math.max(-1, ...all);
  };

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
    const status = await new Promise<string>((resolve, reject) =>
      execFile(
        CONVEYOR,
        ["mirror", "status", "--config", config, "--json"],
        { timeout: 30_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    expect(JSON.parse(status)).toEqual([
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
    const admin = kafka.admin();
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
});

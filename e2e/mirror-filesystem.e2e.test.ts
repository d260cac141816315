/**
 * The exactly-once mirror against a real Kafka broker (KRaft, one node) into
 * the filesystem, through the real CLI (`bin/conveyor mirror ...`) as a child
 * process: segments and their contents, kill -9 and restart, a foreign file,
 * SIGTERM with several mirrors in one process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ManagedProcess } from "../src/cluster/managed-process";
import { segmentName } from "../src/builtins/mirror/chain";
import { decodeSegment, type MirrorRecord } from "../src/builtins/mirror/record-line";
import { mirrorTestBed } from "./harness/mirror";
import { eventually } from "./harness/pipeline";

jest.setTimeout(90_000);

interface MirrorDef {
  name: string;
  topic: string;
}

describe("mirror to the filesystem (real Kafka broker)", () => {
  const bed = mirrorTestBed("mirror-fs");
  const { dir, cli } = bed;

  const createTopic = (topic: string): Promise<void> => bed.createTopics([topic]);

  /** Produces values v-<offset> (keys k-<offset>, one header) for offsets [from, from + count). */
  const produce = (topic: string, from: number, count: number): Promise<void> =>
    bed.produce(topic, from, count, { headers: { h: "x" } });

  function writeConfig(name: string, mirrors: MirrorDef[], flush: Record<string, number>): string {
    const file = path.join(dir, `${name}.yaml`);
    const lines = [
      "destination:",
      "  type: filesystem",
      "  format: ndjson",
      `  root: \${DEST_ROOT:-${path.join(dir, "dest")}}`,
      `  flush: { ${Object.entries(flush)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ")} }`,
      "mirrors:",
      ...mirrors.map(
        (m) =>
          `  - { name: ${m.name}, source: { bootstrap-servers: "${bed.broker.bootstrap}" }, topic: ${m.topic}, partition: 0 }`,
      ),
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  const startMirror = (config: string, env: NodeJS.ProcessEnv = {}): ManagedProcess =>
    bed.startMirror(config, { LOG_LEVEL: "debug", ...env });

  const partitionDir = (topic: string): string => path.join(dir, "dest", topic, "0");

  function segments(topic: string): string[] {
    const d = partitionDir(topic);
    return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
  }

  function records(topic: string): MirrorRecord[] {
    return segments(topic).flatMap((f) =>
      decodeSegment(fs.readFileSync(path.join(partitionDir(topic), f), "utf8")),
    );
  }

  function expectExactly(topic: string, count: number): void {
    const got = records(topic);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: count }, (_, i) => i));
    for (const r of got) {
      expect(r.value?.toString()).toBe(`v-${r.offset}`);
      expect(r.key?.toString()).toBe(`k-${r.offset}`);
    }
  }

  /** Waits for a pattern in a process's output, failing with its output after timeoutMs. */
  async function waitForOutput(p: ManagedProcess, re: RegExp, timeoutMs = 30_000): Promise<void> {
    await eventually(
      () => re.test(p.output()) || !p.running,
      timeoutMs,
      () => p.output().slice(-3000),
    );
    if (!re.test(p.output())) throw new Error(`mirror exited before ${re}:\n${p.output().slice(-3000)}`);
  }

  it("50 records, at most 10 per flush: exactly five segments 0-9 … 40-49 with the records", async () => {
    await createTopic("fifty");
    await produce("fifty", 0, 50);
    const config = writeConfig("fifty", [{ name: "fifty", topic: "fifty" }], {
      "max-offsets": 10,
      "max-time-ms": 60_000,
    });
    const validate = await cli(["mirror", "validate", "--config", config]);
    expect(validate).toMatchObject({ code: 0, stdout: "OK: 1 mirror(s), destination type = filesystem\n" });

    const mirror = startMirror(config);
    await eventually(
      () => segments("fifty").length >= 5,
      30_000,
      () => mirror.output().slice(-3000),
    );
    expect(await mirror.stop()).toEqual({ code: 0, signal: null });
    expect(segments("fifty")).toEqual(
      [0, 10, 20, 30, 40].map((from) => segmentName(from, from + 9, "ndjson")),
    );
    expectExactly("fifty", 50);
    expect(records("fifty")[0]!.headers.map(([k, v]) => [k, v?.toString()])).toEqual([["h", "x"]]);
    // Every flush is logged with path, from, to, count, bytes, elapsed_ms, interval_ms and trigger.
    expect(mirror.output()).toMatch(
      /"path":"[^"]+00000000000000000040-00000000000000000049\.ndjson","from":40,"to":49,"count":10,"bytes":\d+,"elapsed_ms":\d+,"interval_ms":\d+,"trigger":"max-offsets"/,
    );

    const status = await cli(["mirror", "status", "--config", config, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({ name: "fifty", source_high: 50, dest_next: 50, lag: 0 }),
    ]);
    const table = await cli(["mirror", "status", "--config", config]);
    expect(table.stdout).toMatch(
      /^MIRROR\s+PARTITION\s+SOURCE-HIGH\s+DEST-NEXT\s+LAG\nfifty\s+fifty\/0\s+50\s+50\s+0\n$/,
    );
  });

  it("kill -9 mid-run, more records, restart: exactly the produced offsets, no duplicate, no gap", async () => {
    await createTopic("crash");
    await produce("crash", 0, 10_000);
    const config = writeConfig("crash", [{ name: "crash", topic: "crash" }], {
      "max-offsets": 7,
      "max-time-ms": 200,
    });
    const first = startMirror(config);
    await eventually(
      () => segments("crash").length >= 5,
      30_000,
      () => first.output().slice(-3000),
    );
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    const atKill = segments("crash").length;
    expect(atKill).toBeLessThan(Math.ceil(10_000 / 7)); // really mid-run
    await produce("crash", 10_000, 500);

    const second = startMirror(config);
    await waitForOutput(second, /mirror starting: destination chain valid/);
    await eventually(
      () =>
        segments("crash")
          .at(-1)
          ?.endsWith(`-${String(10_499).padStart(20, "0")}.ndjson`) === true,
      60_000,
      () => `${segments("crash").length} segments; ${second.output().slice(-2000)}`,
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    expectExactly("crash", 10_500);
    expect(fs.readdirSync(partitionDir("crash")).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it("a foreign file in the destination: the mirror refuses to start, naming it; status exits 1", async () => {
    const config = writeConfig("foreign", [{ name: "fifty", topic: "fifty" }], { "max-offsets": 10 });
    const foreign = path.join(partitionDir("fifty"), "notes.txt");
    fs.writeFileSync(foreign, "not a segment\n");
    try {
      const mirror = startMirror(config);
      expect(await mirror.exited).toEqual({ code: 1, signal: null });
      expect(mirror.output()).toContain(`MIRROR_DESTINATION_INVALID: foreign file ${foreign}`);
      const status = await cli(["mirror", "status", "--config", config]);
      expect(status.code).toBe(1);
      expect(status.stdout).toContain(`foreign file ${foreign}`);
    } finally {
      fs.rmSync(foreign);
    }
  });

  it("two processes with one config: the second is a standby and takes over after kill -9 of the first", async () => {
    await createTopic("lease");
    await produce("lease", 0, 1000);
    const config = writeConfig("lease", [{ name: "lease", topic: "lease" }], {
      "max-offsets": 100,
      "max-time-ms": 200,
    });
    const first = startMirror(config);
    await waitForOutput(first, /holding the partition/);
    await eventually(
      () => segments("lease").length >= 10,
      30_000,
      () => first.output().slice(-3000),
    );
    const second = startMirror(config);
    await waitForOutput(second, /standby: another member of the consumer group holds the partition/);
    expect(second.output()).not.toMatch(/"msg":"flushed batch"/);
    await produce("lease", 1000, 1000);
    await eventually(
      () => segments("lease").some((f) => f.endsWith(`-${String(1999).padStart(20, "0")}.ndjson`)),
      30_000,
      () => first.output().slice(-3000),
    );
    first.kill("SIGKILL");
    await produce("lease", 2000, 500);
    await waitForOutput(second, /holding the partition/, 30_000);
    await eventually(
      () => segments("lease").some((f) => f.endsWith(`-${String(2499).padStart(20, "0")}.ndjson`)),
      30_000,
      () => second.output().slice(-3000),
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    expect(second.output()).toMatch(/"next":2000[^\n]*"mirror starting: destination chain valid"/);
    expectExactly("lease", 2500);
  });

  it("the source went backwards (topic re-created shorter): a running mirror stops, a restart refuses", async () => {
    await createTopic("back");
    await produce("back", 0, 30);
    const config = writeConfig("back", [{ name: "back", topic: "back" }], { "max-offsets": 10 });
    const mirror = startMirror(config);
    await eventually(
      () => segments("back").length === 3,
      30_000,
      () => mirror.output().slice(-3000),
    );
    const admin = bed.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: ["back"] });
      // Deletion finishes in the background: creating the name again fails until it has.
      await eventually(
        () =>
          createTopic("back").then(
            () => true,
            () => false,
          ),
        30_000,
        () => "topic back still being deleted",
      );
    } finally {
      await admin.disconnect();
    }
    await produce("back", 0, 5);
    const backwards =
      /MIRROR_SOURCE_BACKWARDS: source back\/0 went backwards: its high watermark is 5 but the destination holds offsets up to 29/;
    expect(await mirror.exited).toEqual({ code: 1, signal: null });
    // Running, the deletion can be seen first as the lost partition (the group rebalances) while the topic is gone.
    expect(mirror.output()).toMatch(
      /MIRROR_SOURCE_BACKWARDS: source back\/0 went backwards|no longer gives back\/0 to this process \(another member took it over, or the topic was deleted\)/,
    );
    const restarted = startMirror(config);
    expect(await restarted.exited).toEqual({ code: 1, signal: null });
    expect(restarted.output()).toMatch(backwards);
    expectExactly("back", 30); // what was copied stays, nothing added
  });

  it("several mirrors in one process: SIGTERM flushes each, exit 0", async () => {
    await createTopic("term-a");
    await createTopic("term-b");
    await produce("term-a", 0, 25);
    await produce("term-b", 0, 13);
    const config = writeConfig(
      "term",
      [
        { name: "term-a", topic: "term-a" },
        { name: "term-b", topic: "term-b" },
      ],
      { "max-offsets": 1000, "max-time-ms": 600_000 },
    );
    const mirror = startMirror(config);
    await waitForOutput(mirror, /"mirror":"term-a"[^\n]*"next":25,"buffered":25/);
    await waitForOutput(mirror, /"mirror":"term-b"[^\n]*"next":13,"buffered":13/);
    expect(segments("term-a")).toEqual([]);
    expect(await mirror.stop()).toEqual({ code: 0, signal: null });
    expect(segments("term-a")).toEqual([segmentName(0, 24, "ndjson")]);
    expect(segments("term-b")).toEqual([segmentName(0, 12, "ndjson")]);
    expectExactly("term-a", 25);
    expectExactly("term-b", 13);
    expect(mirror.output()).toMatch(/"count":25,[^\n]*"trigger":"shutdown"/);
  });
});

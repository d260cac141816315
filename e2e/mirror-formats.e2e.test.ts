/**
 * mirror-v3's formats against the real things, one Kafka broker for the file:
 * source topics compressed by kcat (`-z snappy|lz4|zstd|gzip`) and a
 * transactional topic with aborted transactions (offset gaps: markers, aborted
 * records) mirrored by the real CLI into Parquet segments (the default format),
 * every file read back with pyarrow; Parquet files of every compression read by
 * pyarrow; NDJSON lines in mirror-v3's schema; mirror-v3's `*.tmp.<uuid>` leftovers.
 */
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ManagedProcess } from "../src/cluster/managed-process";
import { segmentName } from "../src/builtins/mirror/chain";
import { ParquetBatch } from "../src/builtins/mirror/parquet-batch";
import { encodeRecordLine, type MirrorRecord } from "../src/builtins/mirror/record-line";
import { cacheDir } from "../src/testing/tools";
import { lastFlushedTo, mirrorTestBed } from "./harness/mirror";
import { eventually } from "./harness/pipeline";

jest.setTimeout(90_000);

const PYTHON = path.join(cacheDir(), "pyarrow-venv", "bin", "python");

/** Reads every Parquet file given with pyarrow: per file, its rows (bytes as latin1) and column codecs. */
const READER = `
import json, sys, pyarrow.parquet as pq
out = []
for f in sys.argv[1:]:
    t = pq.read_table(f)
    md = pq.ParquetFile(f).metadata
    codecs = sorted({md.row_group(0).column(i).compression for i in range(md.num_columns)}) if md.num_row_groups else []
    rows = [{k: (v.decode("latin1") if isinstance(v, bytes) else v) for k, v in r.items()} for r in t.to_pylist()]
    for r in rows:
        r["headers"] = [{"key": h["key"], "value": None if h["value"] is None else h["value"].decode("latin1")} for h in r["headers"]]
    out.append({"file": f, "schema": [f"{x.name}:{x.type}" for x in t.schema], "codecs": codecs, "rows": rows})
print(json.dumps(out))
`;

interface ParquetRow {
  topic: string;
  partition: number;
  offset: number;
  timestamp_ms: number | null;
  timestamp_type: string;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}
interface ParquetFileRead {
  file: string;
  schema: string[];
  codecs: string[];
  rows: ParquetRow[];
}

function pyarrow(files: string[]): ParquetFileRead[] {
  return JSON.parse(
    execFileSync(PYTHON, ["-c", READER, ...files], { encoding: "utf8" }),
  ) as ParquetFileRead[];
}

const MIRROR_V3_SCHEMA = [
  "topic:string",
  "partition:int32",
  "offset:uint64",
  "timestamp_ms:int64",
  "timestamp_type:string",
  "key:large_binary",
  "value:large_binary",
  "headers:list<item: struct<key: string not null, value: large_binary>>",
];

describe("mirror-v3 formats, compressed, transactional and compacted sources (real Kafka broker, pyarrow)", () => {
  // The log cleaner looks for work every 200 ms (default 15 s), so a compacted topic is compacted in the test.
  const bed = mirrorTestBed("mirror-formats", {
    properties: { "log.cleaner.backoff.ms": 200, "log.cleaner.dedupe.buffer.size": 8 * 1024 * 1024 },
  });
  const { dir } = bed;

  function writeConfig(name: string, destination: string[], topics: string[]): string {
    const file = path.join(dir, `${name}.yaml`);
    const lines = [
      "destination:",
      ...destination.map((l) => `  ${l}`),
      "mirrors:",
      ...topics.map(
        (t) =>
          `  - { name: ${t}, source: { bootstrap-servers: "${bed.broker.bootstrap}" }, topic: ${t}, partition: 0 }`,
      ),
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  const runUntil = (config: string, done: () => boolean): Promise<ManagedProcess> =>
    bed.runUntil(config, done);

  const files = (root: string, topic: string): string[] => {
    const d = path.join(root, topic, "0");
    return fs.existsSync(d)
      ? fs
          .readdirSync(d)
          .sort()
          .map((f) => path.join(d, f))
      : [];
  };

  it("topics compressed with snappy, lz4, zstd and gzip → Parquet (the default format) that pyarrow reads", async () => {
    const codecs = ["snappy", "lz4", "zstd", "gzip"];
    const topics = codecs.map((c) => `z-${c}`);
    await bed.createTopics(topics);
    await Promise.all(codecs.map((c, i) => bed.kcatProduce(topics[i]!, c, 30)));
    const root = path.join(dir, "compressed");
    const config = writeConfig(
      "compressed",
      [
        `type: filesystem`,
        `root: ${root}`,
        "flush: { max-offsets: 1000, max-bytes: 67108864, max-time-ms: 300 }",
      ],
      topics,
    );
    await runUntil(config, () =>
      topics.every((t) => files(root, t).some((f) => f.endsWith("-00000000000000000029.parquet"))),
    );
    for (const t of topics) {
      const read = pyarrow(files(root, t));
      expect(read[0]!.schema).toEqual(MIRROR_V3_SCHEMA);
      expect(read[0]!.codecs).toEqual(["ZSTD"]); // compression zstd-1, the default
      const rows = read.flatMap((r) => r.rows);
      expect(rows.map((r) => r.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      for (const r of rows) {
        expect(r).toMatchObject({ topic: t, partition: 0, timestamp_type: "create_time", headers: [] });
        expect(r.key).toBe(`k-${r.offset}`);
        expect(r.value).toBe(`v-${r.offset}-${"x".repeat(100)}`);
      }
    }
  });

  it("a transactional topic with aborted transactions: every committed record once, the chain covering the markers across kill -9", async () => {
    const topic = "txn";
    await bed.createTopics([topic]);
    const producer = bed.kafka.producer({
      transactionalId: "e2e-txn",
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const committed: string[] = [];
    /** Transactions `from` … `to` - 1 of 5 records each; the odd ones aborted. */
    const produce = async (from: number, to: number): Promise<void> => {
      for (let t = from; t < to; t++) {
        const tx = await producer.transaction();
        const values = Array.from({ length: 5 }, (_, i) => `t${t}-${i}`);
        await tx.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
        if (t % 2 === 1) await tx.abort();
        else {
          await tx.commit();
          committed.push(...values);
        }
      }
    };
    const highWatermark = async () => Number((await bed.kafka.admin().fetchTopicOffsets(topic))[0]!.high);
    const root = path.join(dir, "txn");
    const config = writeConfig(
      "txn",
      [
        "type: filesystem",
        `root: ${root}`,
        "flush: { max-offsets: 4, max-bytes: 67108864, max-time-ms: 200 }",
      ],
      [topic],
    );
    // The first half is mirrored by a mirror that is then killed with SIGKILL (no flush on the way out)…
    // The coordinator writes a transaction's marker after EndTxn answered: wait for the last one.
    const settledAt = async (expected: number): Promise<void> => {
      let seen = -1;
      await eventually(
        async () => (seen = await highWatermark()) === expected,
        10_000,
        () => `the high watermark is ${seen}, not ${expected}`,
      );
    };
    await produce(0, 6);
    await settledAt(36); // 6 × (5 records + 1 marker)
    const first = bed.startMirror(config);
    await eventually(
      () => lastFlushedTo(first) >= 20,
      30_000,
      () => first.output().slice(-3000),
    );
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    // …the second half arrives while it is down, and a new mirror continues from the directory.
    await produce(6, 12);
    await producer.disconnect();
    const high = 72;
    await settledAt(high);
    const last = `-${String(high - 1).padStart(20, "0")}.parquet`;
    await runUntil(config, () => files(root, topic).some((f) => f.endsWith(last)));
    // Segments only: a temp file the killed mirror was writing is not part of the chain.
    const segments = files(root, topic).filter((f) => /\/\d{20}-\d{20}\.parquet$/.test(f));
    // The chain is exact: each segment starts where the previous one ended, from 0 to the last marker.
    expectChain(
      segments.map((f) => path.basename(f)),
      "parquet",
      high,
    );
    const rows = pyarrow(segments).flatMap((r) => r.rows);
    expect(rows.map((r) => r.value)).toEqual(committed); // 0 missing, 0 extra, in order
    const status = await bed.cli(["mirror", "status", "--config", config, "--format", "json"]);
    expect(JSON.parse(status.stdout)).toEqual([
      { name: topic, source_high: high, dest_next: high, topic, partition: 0, source_low: 0, lag: 0 },
    ]);
  });

  /** Segment names of a partition directory must chain from 0 to `end` - 1 (each from = the previous to + 1). */
  function expectChain(names: string[], ext: string, end: number): void {
    let expected = 0;
    for (const n of names) {
      const [, from, to] = new RegExp(`^(\\d{20})-(\\d{20})\\.${ext}$`).exec(n) ?? [n, "-1", "-1"];
      expect(`${n}: from ${Number(from)}`).toBe(`${n}: from ${expected}`);
      expected = Number(to) + 1;
    }
    expect(expected).toBe(end);
  }

  it.each(["parquet", "ndjson"] as const)(
    "takes over a directory mirror-v3 wrote (%s segments, a *.tmp.<uuid> leftover): continues the chain in its format",
    async (format) => {
      const topic = `v3-${format}`;
      await bed.createTopics([topic]);
      await bed.produce(topic, 0, 300, { headers: { h: "x" } });
      const root = path.join(dir, "takeover");
      const partitionDir = path.join(root, topic, "0");
      fs.mkdirSync(partitionDir, { recursive: true });
      // What mirror-v3 left: segments 0-99 and 100-199 of the same records, and an unfinished write.
      const record = (offset: number): MirrorRecord => ({
        offset,
        timestamp: 1_700_000_000_000 + offset,
        timestampType: "create_time",
        key: Buffer.from(`k-${offset}`),
        value: Buffer.from(`v-${offset}`),
        headers: [["h", Buffer.from("x")]],
      });
      for (const from of [0, 100]) {
        const offsets = Array.from({ length: 100 }, (_, i) => from + i);
        let body: Buffer;
        if (format === "parquet") {
          const b = new ParquetBatch(topic, 0, "zstd-1");
          for (const o of offsets) b.add(record(o));
          body = Buffer.concat(b.body());
        } else body = Buffer.from(offsets.map((o) => encodeRecordLine(record(o), topic, 0)).join(""));
        fs.writeFileSync(path.join(partitionDir, segmentName(from, from + 99, format)), body);
      }
      const leftover = `${segmentName(200, 299, format)}.tmp.${crypto.randomUUID()}`;
      fs.writeFileSync(path.join(partitionDir, leftover), "half a file");
      // mirror-v3's config shape: no format given, so the one already there.
      const config = writeConfig(
        `takeover-${format}`,
        ["type: filesystem", `root: ${root}`, "flush: { max-offsets: 40, max-time-ms: 200 }"],
        [topic],
      );
      const last = `-${String(299).padStart(20, "0")}.${format}`;
      const p = await runUntil(config, () => fs.readdirSync(partitionDir).some((f) => f.endsWith(last)));
      expect(p.output()).toMatch(/"next":200,[^\n]*"msg":"mirror starting: destination chain valid"/);
      const names = fs.readdirSync(partitionDir).sort();
      expect(names).toContain(leftover); // ignored, never deleted, as mirror-v3 does
      const segments = names.filter((n) => n !== leftover);
      expectChain(segments, format, 300);
      const files = segments.map((n) => path.join(partitionDir, n));
      const rows =
        format === "parquet"
          ? pyarrow(files).flatMap((r) => r.rows)
          : files.flatMap((f) =>
              fs
                .readFileSync(f, "utf8")
                .split("\n")
                .filter((l) => l.length > 0)
                .map((l) => {
                  const j = JSON.parse(l) as {
                    key: string;
                    value: string;
                    headers: Array<{ key: string; value: string }>;
                  };
                  return {
                    ...j,
                    key: Buffer.from(j.key, "base64").toString("latin1"),
                    value: Buffer.from(j.value, "base64").toString("latin1"),
                    headers: j.headers.map((h) => ({
                      key: h.key,
                      value: Buffer.from(h.value, "base64").toString("latin1"),
                    })),
                  } as unknown as ParquetRow;
                }),
            );
      expect(rows.map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i));
      for (const r of rows) {
        expect(r).toMatchObject({
          topic,
          partition: 0,
          key: `k-${r.offset}`,
          value: `v-${r.offset}`,
          headers: [{ key: "h", value: "x" }],
        });
      }
    },
  );

  it("a compacted topic (the cleaner removed records): 0 missing, 0 extra, the chain exact across kill -9", async () => {
    const topic = "compacted";
    await bed.createTopics([topic], {
      "cleanup.policy": "compact",
      "segment.bytes": "16384",
      "min.cleanable.dirty.ratio": "0.01",
      "min.compaction.lag.ms": "0",
      "delete.retention.ms": "0",
    });
    // Even offsets have keys of their own; odd ones share 10 keys, so compaction removes most odd offsets.
    const count = 6000;
    for (let i = 0; i < count; i += 100) {
      // 100 records (~9 KB) a request: a batch must fit in a segment.
      await bed.producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 100 }, (_, j) => {
          const o = i + j;
          return {
            partition: 0,
            key: o % 2 === 0 ? `k-${o}` : `dup-${o % 20}`,
            value: `v-${o}-${"x".repeat(60)}`,
          };
        }),
      });
    }
    // The broker must really have removed records: wait for gaps, then stop compaction (policy delete,
    // nothing expires) and for the log to settle, so that the source no longer changes.
    await eventually(
      () => bed.kcatRead(topic).length < count * 0.6,
      30_000,
      () => `${bed.kcatRead(topic).length} of ${count} records left`,
    );
    const admin = bed.kafka.admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: 2, // TOPIC
          name: topic,
          configEntries: [
            { name: "cleanup.policy", value: "delete" },
            { name: "retention.ms", value: "-1" },
            { name: "retention.bytes", value: "-1" },
          ],
        },
      ],
    });
    await admin.disconnect();
    let source = bed.kcatRead(topic);
    await eventually(
      () => {
        const again = bed.kcatRead(topic);
        const same = again.length === source.length;
        source = again;
        return same;
      },
      10_000,
      () => "the log keeps changing",
    );
    expect(source.length).toBeLessThan(count * 0.6);
    expect(source.at(-1)!.offset).toBe(count - 1); // the newest record of a key is kept
    expect(source.some((r, i) => i > 0 && r.offset !== source[i - 1]!.offset + 1)).toBe(true);

    const root = path.join(dir, "compacted");
    const partitionDir = path.join(root, topic, "0");
    const config = writeConfig(
      "compacted",
      ["type: filesystem", `root: ${root}`, "format: ndjson", "flush: { max-offsets: 8, max-time-ms: 200 }"],
      [topic],
    );
    const first = bed.startMirror(config);
    await eventually(
      () => lastFlushedTo(first) >= 500,
      30_000,
      () => first.output().slice(-3000),
    );
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    expect(lastFlushedTo(first)).toBeLessThan(count - 1); // really mid-way
    const last = `-${String(count - 1).padStart(20, "0")}.ndjson`;
    await runUntil(config, () => fs.readdirSync(partitionDir).some((f) => f.endsWith(last)));
    const names = fs
      .readdirSync(partitionDir)
      .filter((n) => !n.startsWith("."))
      .sort();
    expectChain(names, "ndjson", count);
    const mirrored = names.flatMap((n) =>
      fs
        .readFileSync(path.join(partitionDir, n), "utf8")
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => {
          const j = JSON.parse(l) as { offset: number; key: string; value: string };
          return [
            j.offset,
            Buffer.from(j.key, "base64").toString(),
            Buffer.from(j.value, "base64").toString(),
          ];
        }),
    );
    expect(mirrored).toEqual(source.map((r) => [r.offset, r.key, r.value])); // 0 missing, 0 extra, in order
  });

  it("Parquet of every compression is read by pyarrow with mirror-v3's columns", () => {
    const compressions = ["zstd-1", "zstd-3", "snappy", "lz4", "uncompressed"] as const;
    const written = compressions.map((c) => {
      const b = new ParquetBatch("orders", 7, c);
      b.add({
        offset: 41,
        timestamp: 1_700_000_000_000,
        timestampType: "create_time",
        key: null,
        value: Buffer.from("v"),
        headers: [
          ["h", Buffer.from("x")],
          ["n", null],
        ],
      });
      b.add({
        offset: 43,
        timestamp: -1,
        timestampType: "not_available",
        key: Buffer.from("k"),
        value: null,
        headers: [],
      });
      const file = path.join(dir, `every-${c}.parquet`);
      fs.writeFileSync(file, b.body()[0]!);
      return file;
    });
    const read = pyarrow(written);
    // pyarrow's metadata calls LZ4_RAW "LZ4" (its name for the current codec; the Hadoop one is LZ4_HADOOP).
    expect(read.map((r) => r.codecs)).toEqual([["ZSTD"], ["ZSTD"], ["SNAPPY"], ["LZ4"], ["UNCOMPRESSED"]]);
    for (const r of read) {
      expect(r.schema).toEqual(MIRROR_V3_SCHEMA);
      expect(r.rows).toEqual([
        {
          topic: "orders",
          partition: 7,
          offset: 41,
          timestamp_ms: 1_700_000_000_000,
          timestamp_type: "create_time",
          key: null,
          value: "v",
          headers: [
            { key: "h", value: "x" },
            { key: "n", value: null },
          ],
        },
        {
          topic: "orders",
          partition: 7,
          offset: 43,
          timestamp_ms: null,
          timestamp_type: "not_available",
          key: "k",
          value: null,
          headers: [],
        },
      ]);
    }
  });
});

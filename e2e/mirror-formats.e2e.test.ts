/**
 * mirror-v3's formats against the real things, one Kafka broker for the file:
 * source topics compressed by kcat (`-z snappy|lz4|zstd|gzip`) and a
 * transactional topic with aborted transactions (offset gaps: markers, aborted
 * records) mirrored by the real CLI into Parquet segments (the default format),
 * every file read back with pyarrow; Parquet files of every compression read by
 * pyarrow; NDJSON lines in mirror-v3's schema; mirror-v3's `*.tmp.<uuid>` leftovers.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ManagedProcess, REPO_ROOT } from "../src/cluster/managed-process";
import { ParquetBatch } from "../src/builtins/mirror/parquet-batch";
import { createTopics, startKafkaBroker, type KafkaBroker } from "../src/testing/kafka-broker";
import { eventually } from "./harness/pipeline";

jest.setTimeout(90_000);

const CONVEYOR = path.join(REPO_ROOT, "bin", "conveyor");
const CACHE = process.env.CONVEYOR_CACHE ?? path.join(os.homedir(), ".cache", "conveyor");
const KCAT = path.join(CACHE, "bin", "kcat");
const PYTHON = path.join(CACHE, "pyarrow-venv", "bin", "python");

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

describe("mirror-v3 formats, compressed and transactional sources (real Kafka broker, pyarrow)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-mirror-formats-"));
  let broker: KafkaBroker;
  let kafka: Kafka;
  const running: ManagedProcess[] = [];

  beforeAll(async () => {
    broker = await startKafkaBroker();
    kafka = new Kafka({
      clientId: "mirror-formats-e2e",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
  }, 90_000);

  afterAll(async () => {
    for (const p of running) p.kill("SIGKILL");
    await broker?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function kcatProduce(topic: string, codec: string, count: number): Promise<void> {
    const lines = Array.from({ length: count }, (_, i) => `k-${i}:v-${i}-${"x".repeat(100)}`).join("\n");
    return new Promise((resolve, reject) => {
      const child = execFile(
        KCAT,
        ["-P", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-K", ":", "-z", codec, "-X", "linger.ms=50"],
        { timeout: 30_000 },
        (err) => (err ? reject(err) : resolve()),
      );
      child.stdin!.end(`${lines}\n`);
    });
  }

  function writeConfig(name: string, destination: string[], topics: string[]): string {
    const file = path.join(dir, `${name}.yaml`);
    const lines = [
      "destination:",
      ...destination.map((l) => `  ${l}`),
      "mirrors:",
      ...topics.map(
        (t) =>
          `  - { name: ${t}, source: { bootstrap-servers: "${broker.bootstrap}" }, topic: ${t}, partition: 0 }`,
      ),
    ];
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  async function runUntil(config: string, done: () => boolean): Promise<ManagedProcess> {
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
    await eventually(
      () => done() || !p.running,
      40_000,
      () => p.output().slice(-3000),
    );
    expect(await p.stop()).toEqual({ code: 0, signal: null });
    return p;
  }

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
    await createTopics(kafka, topics);
    await Promise.all(codecs.map((c, i) => kcatProduce(topics[i]!, c, 30)));
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

  it("a transactional topic with aborted transactions: every committed record once, the chain covering the markers", async () => {
    const topic = "txn";
    await createTopics(kafka, [topic]);
    const producer = kafka.producer({ transactionalId: "e2e-txn", idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed: string[] = [];
    for (let t = 0; t < 6; t++) {
      const tx = await producer.transaction();
      const values = Array.from({ length: 5 }, (_, i) => `t${t}-${i}`);
      await tx.send({ topic, messages: values.map((value) => ({ value, partition: 0 })) });
      if (t % 2 === 1) await tx.abort();
      else {
        await tx.commit();
        committed.push(...values);
      }
    }
    await producer.disconnect();
    const high = Number((await kafka.admin().fetchTopicOffsets(topic))[0]!.high); // 6 × (5 records + 1 marker)
    expect(high).toBe(36);
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
    const last = `-${String(high - 1).padStart(20, "0")}.parquet`;
    await runUntil(config, () => files(root, topic).some((f) => f.endsWith(last)));
    const names = files(root, topic).map((f) => path.basename(f));
    // The chain is exact: each segment starts where the previous one ended, from 0 to the last marker.
    let expected = 0;
    for (const n of names) {
      const [, from, to] = /^(\d{20})-(\d{20})\.parquet$/.exec(n)!;
      expect(Number(from)).toBe(expected);
      expected = Number(to) + 1;
    }
    expect(expected).toBe(high);
    const rows = pyarrow(files(root, topic)).flatMap((r) => r.rows);
    expect(rows.map((r) => r.value)).toEqual(committed); // 0 missing, 0 extra, in order
    const status = await new Promise<string>((resolve) =>
      execFile(CONVEYOR, ["mirror", "status", "--config", config, "--format", "json"], (_, out) =>
        resolve(out),
      ),
    );
    expect(JSON.parse(status)).toEqual([
      { name: topic, source_high: high, dest_next: high, topic, partition: 0, source_low: 0, lag: 0 },
    ]);
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

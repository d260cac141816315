/**
 * The mirror's figures for `npm run bench` (issues #5, #15), on one real Kafka
 * broker (src/testing/kafka-broker.ts) and, per record size, one topic of N records:
 *
 *   kcat          kcat -C -e -f '%s\n' dumping the partition to a file (the baseline)
 *   parquet       conveyor mirror run → <root>/bench-B/0/*.parquet (zstd-1, fsynced segments)
 *   ndjson        conveyor mirror run → <root>/bench-B/0/*.ndjson (mirror-v3's lines, fsynced)
 *   kafka         conveyor mirror run → topic bench-B-copy, exactly-once (transactions)
 *   kafka-offsets conveyor mirror run → topic bench-B-offsets, mode offset-preserving
 *
 * Each variant runs as its own process on the same topic in the same run.
 * `wall` is from spawning the process until the last record is in the
 * destination (kcat: until it exits); `copy` leaves the mirror's start-up out:
 * from its "running 1 mirror(s)" log line to the log line of its last flush.
 * Peak RSS: the process's VmHWM (mirror: read before it is stopped; kcat: GNU time's %M).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ManagedProcess, REPO_ROOT } from "../src/cluster/managed-process";
import { startKafkaBroker, type KafkaBroker } from "../src/testing/kafka-broker";
import { toolPath } from "../src/testing/tools";
import { formatTable, round, waitForQuietMachine } from "./stats";

export const MIRROR_TARGETS = { minRatioVsKcat: 1.0, minKafkaRecordsPerSec: 20_000 } as const;

export type MirrorVariant = "kcat" | "parquet" | "ndjson" | "kafka" | "kafka-offsets";
const VARIANTS: readonly MirrorVariant[] = ["kcat", "parquet", "ndjson", "kafka", "kafka-offsets"];

export interface MirrorBenchOptions {
  records: number;
  /** One run of every variant per record size. */
  payloadBytes: number[];
  /** Work directory (kcat output, mirror configs and segments, logs). */
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Before each variant, wait up to this long for the machine to be < 25% busy (0 = don't). */
  quietWaitMs: number;
  log(line: string): void;
}

export interface MirrorVariantResult {
  variant: MirrorVariant;
  payloadBytes: number;
  records: number;
  wallSeconds: number;
  wallRecordsPerSec: number;
  /** Mirror only: from "running" to the last flush. */
  copySeconds?: number;
  copyRecordsPerSec?: number;
  flushes?: number;
  /** Bytes written to the destination (file, segments, or the flushes' own byte counts). */
  bytes: number;
  /** Peak resident set size of the process, MiB. */
  peakRssMiB?: number;
  /** Share of the machine busy with other work just before the variant ran (0..1). */
  otherLoadBefore?: number;
}

export interface MirrorBenchReport {
  settings: { records: number; payloadBytes: number[]; flush: string; broker: string };
  variants: MirrorVariantResult[];
  /** The worst over the record sizes: NDJSON copy vs kcat wall; transactional Kafka → Kafka copy. */
  targets: {
    filesystemVsKcat: { target: string; wall: number; copy: number; met: boolean };
    kafka: { target: string; copy: number; wall: number; met: boolean };
  };
}

const CONVEYOR = path.join(REPO_ROOT, "bin", "conveyor");

async function produce(
  broker: KafkaBroker,
  topic: string,
  records: number,
  payloadBytes: number,
): Promise<void> {
  const kafka = new Kafka({
    clientId: "bench-mirror",
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 1 },
      { topic: `${topic}-copy`, numPartitions: 1 },
      { topic: `${topic}-offsets`, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const payload = "x".repeat(Math.max(0, payloadBytes - 20));
  const batch = 1000;
  const inFlight: Array<Promise<unknown>> = [];
  for (let i = 0; i < records; i += batch) {
    const n = Math.min(batch, records - i);
    inFlight.push(
      producer.send({
        topic,
        acks: 1,
        messages: Array.from({ length: n }, (_, j) => ({
          partition: 0,
          key: `k-${i + j}`,
          value: `${String(i + j).padStart(19, "0")} ${payload}`,
        })),
      }),
    );
    if (inFlight.length >= 4) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();
}

async function runKcat(
  o: MirrorBenchOptions,
  broker: KafkaBroker,
  topic: string,
  payloadBytes: number,
): Promise<MirrorVariantResult> {
  const out = path.join(o.dir, `kcat-${topic}.out`);
  const rss = path.join(o.dir, `kcat-${topic}.rss`);
  const file = fs.createWriteStream(out);
  const started = process.hrtime.bigint();
  const child = spawn(
    "/usr/bin/time", // GNU time: the peak RSS in KiB (%M) into a file of its own
    [
      "-f",
      "%M",
      "-o",
      rss,
      toolPath("kcat"),
      ...["-C", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", "%s\n"],
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  child.stdout.pipe(file);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  await new Promise<void>((resolve) => file.end(resolve));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`kcat exited with ${code}`);
  const bytes = fs.statSync(out).size;
  const lines = (await countLines(out)) | 0;
  if (lines !== o.records) throw new Error(`kcat wrote ${lines} records, expected ${o.records}`);
  return {
    variant: "kcat",
    payloadBytes,
    records: o.records,
    wallSeconds: round(seconds, 3),
    wallRecordsPerSec: Math.round(o.records / seconds),
    bytes,
    peakRssMiB: round(Number(fs.readFileSync(rss, "utf8").trim().split("\n").at(-1)) / 1024, 1),
  };
}

/** A running process's peak RSS (VmHWM) in MiB, undefined when it cannot be read. */
function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? round(Number(m[1]) / 1024, 1) : undefined;
  } catch {
    return undefined;
  }
}

function countLines(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    fs.createReadStream(file)
      .on("data", (chunk: Buffer | string) => {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
      })
      .on("end", () => resolve(n))
      .on("error", reject);
  });
}

interface LogLine {
  time: string;
  msg: string;
  to?: number;
  count?: number;
  bytes?: number;
}

async function runMirror(
  o: MirrorBenchOptions,
  broker: KafkaBroker,
  topic: string,
  payloadBytes: number,
  variant: Exclude<MirrorVariant, "kcat">,
): Promise<MirrorVariantResult> {
  const root = path.join(o.dir, `segments-${variant}`);
  const config = path.join(o.dir, `mirror-${topic}-${variant}.yaml`);
  const destination: Record<Exclude<MirrorVariant, "kcat">, string[]> = {
    parquet: ["  type: filesystem", `  root: ${root}`, "  format: parquet"],
    ndjson: ["  type: filesystem", `  root: ${root}`, "  format: ndjson"],
    kafka: ["  type: kafka", `  bootstrap-servers: "${broker.bootstrap}"`],
    "kafka-offsets": [
      "  type: kafka",
      `  bootstrap-servers: "${broker.bootstrap}"`,
      "  mode: offset-preserving",
    ],
  };
  const target = { kafka: `${topic}-copy`, "kafka-offsets": `${topic}-offsets` } as Record<string, string>;
  fs.writeFileSync(
    config,
    [
      "destination:",
      ...destination[variant],
      // 10,000 records per segment: with a record count that is a multiple of it, the last flush is a full one
      // (max-offsets), not a partial one waiting for max-time-ms, which would time the timer, not the copy.
      "  flush: { max-offsets: 10000, max-bytes: 67108864, max-time-ms: 1000 }",
      "mirrors:",
      `  - name: ${topic}-${variant}`,
      `    source: { bootstrap-servers: "${broker.bootstrap}" }`,
      `    topic: ${topic}`,
      "    partition: 0",
      ...(target[variant] ? [`    destination-name-override: ${target[variant]}`] : []),
      "",
    ].join("\n"),
  );
  const last = o.records - 1;
  const started = process.hrtime.bigint();
  const proc = new ManagedProcess(
    `mirror-${variant}`,
    CONVEYOR,
    ["mirror", "run", "--config", config, "--metrics-port", "0"],
    { ...o.env, LOG_LEVEL: "info" },
    path.join(o.dir, `mirror-${topic}-${variant}.log`),
  );
  try {
    await proc.waitForOutput(new RegExp(`"to":${last},"count"`), 600_000);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const lines = proc
      .output()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as LogLine);
    const running = lines.find((l) => l.msg.startsWith("running "));
    const flushes = lines.filter((l) => l.msg === "flushed batch");
    const lastFlush = flushes.find((l) => l.to === last);
    if (!running || !lastFlush) throw new Error(`mirror-${variant}: log lines missing`);
    const copySeconds = (Date.parse(lastFlush.time) - Date.parse(running.time)) / 1000;
    const rss = peakRssMiB(proc.pid);
    return {
      variant,
      payloadBytes,
      records: o.records,
      wallSeconds: round(seconds, 3),
      wallRecordsPerSec: Math.round(o.records / seconds),
      copySeconds: round(copySeconds, 3),
      copyRecordsPerSec: Math.round(o.records / copySeconds),
      flushes: flushes.length,
      bytes: flushes.reduce((s, l) => s + (l.bytes ?? 0), 0),
      ...(rss !== undefined ? { peakRssMiB: rss } : {}),
    };
  } finally {
    const status = await proc.stop(15_000);
    if (status.code !== 0) o.log(`bench: mirror-${variant} exited with ${JSON.stringify(status)}`);
  }
}

export async function runMirrorBench(o: MirrorBenchOptions): Promise<MirrorBenchReport> {
  fs.mkdirSync(o.dir, { recursive: true });
  o.log(`bench mirror: starting a Kafka broker`);
  const broker = await startKafkaBroker();
  try {
    const variants: MirrorVariantResult[] = [];
    for (const payloadBytes of o.payloadBytes) {
      const topic = `bench-${payloadBytes}`;
      o.log(`bench mirror: producing ${o.records.toLocaleString("en-US")} records of ${payloadBytes} bytes`);
      await produce(broker, topic, o.records, payloadBytes);
      for (const v of VARIANTS) {
        o.log(`bench mirror: ${v} (${payloadBytes} B)`);
        const otherLoad =
          o.quietWaitMs > 0 ? await waitForQuietMachine(o.quietWaitMs, 0.25, o.log) : undefined;
        const r =
          v === "kcat"
            ? await runKcat(o, broker, topic, payloadBytes)
            : await runMirror(o, broker, topic, payloadBytes, v);
        if (otherLoad !== undefined) r.otherLoadBefore = otherLoad;
        o.log(
          `bench mirror:   ${v}: ${r.wallRecordsPerSec.toLocaleString("en-US")} records/s wall` +
            (r.copyRecordsPerSec
              ? `, ${r.copyRecordsPerSec.toLocaleString("en-US")} records/s copying`
              : "") +
            (r.peakRssMiB !== undefined ? `, peak RSS ${r.peakRssMiB} MiB` : ""),
        );
        variants.push(r);
      }
    }
    const at = (v: MirrorVariant, b: number): MirrorVariantResult =>
      variants.find((r) => r.variant === v && r.payloadBytes === b)!;
    const ratios = o.payloadBytes.map((b) => ({
      copy: round((at("ndjson", b).copyRecordsPerSec ?? 0) / at("kcat", b).wallRecordsPerSec, 2),
      wall: round(at("ndjson", b).wallRecordsPerSec / at("kcat", b).wallRecordsPerSec, 2),
    }));
    const copyRatio = Math.min(...ratios.map((r) => r.copy));
    const kafka = o.payloadBytes.map((b) => at("kafka", b));
    const kafkaCopy = Math.min(...kafka.map((k) => k.copyRecordsPerSec ?? 0));
    return {
      settings: {
        records: o.records,
        payloadBytes: o.payloadBytes,
        flush: "max-offsets 10000, max-bytes 64 MiB, max-time-ms 1000",
        broker: "Kafka 3.9.1, KRaft single node, same machine",
      },
      variants,
      targets: {
        filesystemVsKcat: {
          target: `≥ ${MIRROR_TARGETS.minRatioVsKcat}× kcat (NDJSON)`,
          wall: Math.min(...ratios.map((r) => r.wall)),
          copy: copyRatio,
          met: copyRatio >= MIRROR_TARGETS.minRatioVsKcat,
        },
        kafka: {
          target: `≥ ${MIRROR_TARGETS.minKafkaRecordsPerSec.toLocaleString("en-US")} records/s`,
          copy: kafkaCopy,
          wall: Math.min(...kafka.map((k) => k.wallRecordsPerSec)),
          met: kafkaCopy >= MIRROR_TARGETS.minKafkaRecordsPerSec,
        },
      },
    };
  } finally {
    await broker.stop();
  }
}

export function formatMirrorBench(r: MirrorBenchReport): string {
  const mark = (met: boolean): string => (met ? "met" : "MISSED");
  const t = r.targets;
  return (
    `${formatTable(
      [
        "mirror variant",
        "bytes",
        "records",
        "wall s",
        "records/s (wall)",
        "copy s",
        "records/s (copy)",
        "flushes",
        "peak RSS MiB",
      ],
      r.variants.map((v) => [
        v.variant,
        v.payloadBytes,
        v.records,
        v.wallSeconds,
        v.wallRecordsPerSec,
        v.copySeconds ?? "",
        v.copyRecordsPerSec ?? "",
        v.flushes ?? "",
        v.peakRssMiB ?? "",
      ]),
    )}\n\n` +
    `mirror targets: filesystem vs kcat ${t.filesystemVsKcat.target}: ${t.filesystemVsKcat.copy}× copying, ` +
    `${t.filesystemVsKcat.wall}× wall (${mark(t.filesystemVsKcat.met)}); Kafka → Kafka ${t.kafka.target}: ` +
    `${t.kafka.copy.toLocaleString("en-US")} copying (${mark(t.kafka.met)})\n`
  );
}

export interface MirrorSectionOptions {
  records: number;
  payloadBytes: number[];
  quietWaitMs: number;
  keep: boolean;
  log(line: string): void;
}

/** Runs the mirror bench in its own work directory and prints its table; the JSON section of the report. */
export async function mirrorBenchSection(o: MirrorSectionOptions): Promise<MirrorBenchReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-bench-mirror-"));
  try {
    const report = await runMirrorBench({
      records: o.records,
      payloadBytes: o.payloadBytes,
      dir,
      env: { ...process.env },
      quietWaitMs: o.quietWaitMs,
      log: o.log,
    });
    process.stdout.write(`\n${formatMirrorBench(report)}`);
    return report;
  } catch (err) {
    o.log(`bench mirror: failed; work directory kept: ${dir}`);
    throw err;
  } finally {
    if (!o.keep && fs.existsSync(dir)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `--only mirror`: runs the mirror bench and sets the `mirror` section of the results file (keeping the rest). */
export async function runMirrorOnly(
  out: string,
  o: MirrorSectionOptions & { check: boolean },
): Promise<number> {
  const mirror = await mirrorBenchSection(o);
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(fs.readFileSync(out, "utf8")) as Record<string, unknown>;
  } catch {
    report = {};
  }
  report.mirror = {
    timestamp: new Date().toISOString(),
    cpus: os.cpus().length,
    node: process.version,
    ...mirror,
  };
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), out) || out} (mirror section)\n`);
  const missed = !mirror.targets.filesystemVsKcat.met || !mirror.targets.kafka.met;
  return o.check && missed ? 1 : 0;
}

/**
 * What the mirror e2e tests share: one real Kafka broker per test file (started in beforeAll, stopped in
 * afterAll with every mirror process still running killed), a kafkajs client and idempotent producer, a
 * temp dir, the CLI run as a child process, and kcat to produce (compressed) or read topics.
 *
 *   const bed = mirrorTestBed("mirror-kafka");
 *   it("…", async () => { await bed.createTopics(["t"]); const p = bed.startMirror(config); … });
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { ManagedProcess, REPO_ROOT } from "../../src/cluster/managed-process";
import {
  createTopics,
  produceNumbered,
  startKafkaBroker,
  type KafkaBroker,
  type KafkaBrokerOptions,
  type NumberedRecordOptions,
} from "../../src/testing/kafka-broker";
import { toolPath } from "../../src/testing/tools";
import { eventually } from "./pipeline";

export const CONVEYOR = path.join(REPO_ROOT, "bin", "conveyor");

/** One record as kcat prints it with `-f '%o\t%h\t%k\t%s\n'` (headers as `k=v,k=v`). */
export interface KcatRecord {
  offset: number;
  headers: string;
  key: string;
  value: string;
}

export interface MirrorTestBed {
  readonly dir: string;
  readonly broker: KafkaBroker;
  readonly kafka: Kafka;
  readonly producer: Producer;
  createTopics(topics: string[], configs?: Record<string, string>): Promise<void>;
  /** Records k-<i> / v-<i><pad> for i in [from, from + count) to partition 0 (see produceNumbered). */
  produce(topic: string, from: number, count: number, options?: NumberedRecordOptions): Promise<void>;
  /** kcat -P of `k-<i>:v-<i>-<100 × x>` lines for i in [0, count), compressed with `codec`. */
  kcatProduce(topic: string, codec: string, count: number): Promise<void>;
  /** Partition 0 of a topic, from the beginning to the end, as a consumer with this isolation level sees it. */
  kcatRead(topic: string, isolation?: "read_committed" | "read_uncommitted"): KcatRecord[];
  /** `conveyor mirror run --config <config> [args]` as a child process (killed in afterAll if still running). */
  startMirror(config: string, env?: NodeJS.ProcessEnv, args?: string[]): ManagedProcess;
  /** startMirror, wait for `done` (or the process's exit), then SIGTERM: expects exit 0. */
  runUntil(config: string, done: () => boolean, timeoutMs?: number): Promise<ManagedProcess>;
  /** Any conveyor command, with its exit code and output. */
  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** The `to` of the last "flushed batch" line a mirror logged (-1 before its first flush). */
export function lastFlushedTo(p: ManagedProcess): number {
  const all = [...p.output().matchAll(/"to":(\d+),"count"/g)].map((m) => Number(m[1]));
  return Math.max(-1, ...all);
}

export function mirrorTestBed(name: string, brokerOptions: KafkaBrokerOptions = {}): MirrorTestBed {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `conveyor-${name}-`));
  const running: ManagedProcess[] = [];
  let broker: KafkaBroker | undefined;
  let kafka: Kafka | undefined;
  let producer: Producer | undefined;
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started yet (use it inside a test)`);
    return value;
  };

  beforeAll(async () => {
    broker = await startKafkaBroker(brokerOptions);
    kafka = new Kafka({ clientId: `${name}-e2e`, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
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

  const bed: MirrorTestBed = {
    dir,
    get broker() {
      return need(broker, "the Kafka broker");
    },
    get kafka() {
      return need(kafka, "the Kafka client");
    },
    get producer() {
      return need(producer, "the producer");
    },
    async createTopics(topics, configs) {
      if (!configs) return createTopics(bed.kafka, topics);
      const admin = bed.kafka.admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: topics.map((topic) => ({
            topic,
            numPartitions: 1,
            configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })),
          })),
          waitForLeaders: true,
        });
      } finally {
        await admin.disconnect();
      }
    },
    produce: (topic, from, count, options) => produceNumbered(bed.producer, topic, from, count, options),
    kcatProduce(topic, codec, count) {
      const lines = Array.from({ length: count }, (_, i) => `k-${i}:v-${i}-${"x".repeat(100)}`).join("\n");
      return new Promise((resolve, reject) => {
        const child = execFile(
          toolPath("kcat"),
          [
            "-P",
            "-b",
            bed.broker.bootstrap,
            "-t",
            topic,
            "-p",
            "0",
            "-K",
            ":",
            "-z",
            codec,
            "-X",
            "linger.ms=50",
          ],
          { timeout: 30_000 },
          (err) => (err ? reject(err) : resolve()),
        );
        child.stdin!.end(`${lines}\n`);
      });
    },
    kcatRead(topic, isolation = "read_committed") {
      const out = spawnSync(
        toolPath("kcat"),
        [
          "-C",
          "-b",
          bed.broker.bootstrap,
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
          return { offset: Number(offset), headers, key, value };
        });
    },
    startMirror(config, env = {}, args = []) {
      const p = new ManagedProcess(
        "mirror",
        CONVEYOR,
        ["mirror", "run", "--config", config, "--metrics-port", "0", ...args],
        { ...process.env, LOG_LEVEL: "info", ...env },
      );
      running.push(p);
      return p;
    },
    async runUntil(config, done, timeoutMs = 40_000) {
      const p = bed.startMirror(config);
      await eventually(
        () => done() || !p.running,
        timeoutMs,
        () => p.output().slice(-3000),
      );
      expect(await p.stop()).toEqual({ code: 0, signal: null });
      return p;
    },
    cli(args, env = {}) {
      return new Promise((resolve) =>
        execFile(
          CONVEYOR,
          args,
          { timeout: 30_000, env: { ...process.env, ...env } },
          (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    },
  };
  return bed;
}

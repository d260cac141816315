/**
 * A real single-node Apache Kafka broker for tests (KRaft, broker+controller in
 * one JVM) on free 127.0.0.1 ports, from the jars scripts/setup.sh put in
 * ${CONVEYOR_CACHE}/kafka-<version>/libs. Storage is formatted in a temp dir
 * that stop() removes.
 *
 *   const broker = await startKafkaBroker();
 *   new Kafka({ brokers: [broker.bootstrap] }) ...
 *   await broker.stop();
 */
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { ManagedProcess } from "../cluster/managed-process";
import { cacheDir } from "./tools";

export const KAFKA_VERSION = "3.9.1";

/** A port that was free on 127.0.0.1 a moment ago (bound to 0, then released). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function kafkaLibs(env: NodeJS.ProcessEnv = process.env): string {
  const libs = path.join(cacheDir(env), `kafka-${KAFKA_VERSION}`, "libs");
  if (!fs.existsSync(path.join(libs, ".complete"))) {
    throw new Error(`Kafka ${KAFKA_VERSION} is not installed at ${libs}: run scripts/setup.sh`);
  }
  return libs;
}

export interface KafkaBroker {
  /** host:port for kafkajs `brokers`. */
  readonly bootstrap: string;
  readonly dir: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export interface KafkaBrokerOptions {
  /** Extra server.properties lines (key → value). */
  properties?: Record<string, string | number>;
  startTimeoutMs?: number;
}

const JVM_OPTS = ["-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.awt.headless=true"];

function runToCompletion(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.slice(-6).join(" ")} exited with ${code}:\n${out.slice(-3000)}`));
    });
  });
}

export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const libs = kafkaLibs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-kafka-"));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const props: Record<string, string | number> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "log.dirs": path.join(dir, "data"),
    "num.partitions": 1,
    "auto.create.topics.enable": "false",
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 1,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 1,
    "group.initial.rebalance.delay.ms": 0,
    "log.retention.check.interval.ms": 1000,
    ...options.properties,
  };
  const propsFile = path.join(dir, "server.properties");
  fs.writeFileSync(
    propsFile,
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n") + "\n",
  );
  const log4j = path.join(dir, "log4j.properties");
  fs.writeFileSync(
    log4j,
    [
      "log4j.rootLogger=WARN, stdout",
      "log4j.logger.kafka.server.KafkaRaftServer=INFO",
      "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
      "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
      "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
      "",
    ].join("\n"),
  );
  const classpath = `${libs}/*`;
  const java = ["-cp", classpath, `-Dlog4j.configuration=file:${log4j}`, ...JVM_OPTS];
  const clusterId = newClusterId();
  try {
    await runToCompletion(
      "java",
      [...java, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", propsFile],
      60_000,
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const proc = new ManagedProcess(
    `kafka:${port}`,
    "java",
    [...java, "kafka.Kafka", propsFile],
    process.env,
    path.join(dir, "broker.log"),
  );
  const bootstrap = `127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    proc.kill("SIGKILL"); // a test broker has nothing worth a clean shutdown (which takes seconds)
    await proc.exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(bootstrap, proc, options.startTimeoutMs ?? 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { bootstrap, dir, process: proc, stop };
}

async function waitUntilReady(bootstrap: string, proc: ManagedProcess, timeoutMs: number): Promise<void> {
  const kafka = new Kafka({
    clientId: "conveyor-test-ready",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 1000,
  });
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    if (!proc.running) {
      throw new Error(`Kafka broker exited before it was ready; output:\n${proc.output().slice(-4000)}`);
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (err) {
      last = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `Kafka broker on ${bootstrap} not ready after ${timeoutMs} ms (${String(last)}); output:\n${proc
      .output()
      .slice(-4000)}`,
  );
}

/**
 * A KRaft cluster id: 16 random bytes, base64url. One in 32 of those starts
 * with "-", which StorageTool's argument parser takes for an option ("expected
 * one argument"), so such ids are drawn again.
 */
export function newClusterId(): string {
  for (;;) {
    const id = crypto.randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/** Creates topics with `numPartitions` partitions each and waits for their leaders. */
export async function createTopics(kafka: Kafka, topics: string[], numPartitions = 1): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

export interface NumberedRecordOptions {
  /** Bytes of "x" appended to each value (default 0). */
  valueBytes?: number;
  headers?: { [key: string]: string };
}

/**
 * Produces the records a test can recognise by number: key `k-<i>` and value
 * `v-<i>` for i in [from, from + count), to partition 0, 500 per request, acks=all.
 */
export async function produceNumbered(
  producer: Producer,
  topic: string,
  from: number,
  count: number,
  options: NumberedRecordOptions = {},
): Promise<void> {
  const pad = "x".repeat(options.valueBytes ?? 0);
  for (let i = 0; i < count; i += 500) {
    const n = Math.min(500, count - i);
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: n }, (_, j) => ({
        partition: 0,
        key: `k-${from + i + j}`,
        value: `v-${from + i + j}${pad}`,
        ...(options.headers ? { headers: options.headers } : {}),
      })),
    });
  }
}

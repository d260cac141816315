/**
 * Relay throughput: events/s from the local SSE server (src/testing/sse-server.ts,
 * recentchange-shaped events of ~1 KB, as fast as the socket takes them) through
 * the relay loop to each publisher, in one process, until the last event's
 * publish resolved and its id is saved:
 *
 *   file              one file per event (fsync, link, fsync dir) + the state save
 *   kafka             real Kafka 3.9 broker (3 partitions, acks=all, idempotent), batched
 *   kafka-unbatched   the same with maxPending 1: one produce request per event
 *
 *   tsx bench/run.ts relay [--events N] [--variants file,kafka,kafka-unbatched] [--out FILE]
 *   tsx bench/relay.ts …   (the same)
 *
 * Writes bench/results/relay-latest.json and prints a table (docs/relay.md has the figures).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { Kafka, logLevel } from "kafkajs";
import { FilePublisher } from "../src/builtins/relay/file-publisher";
import { KafkaPublisher } from "../src/builtins/relay/kafka-publisher";
import { relayMetrics } from "../src/builtins/relay/metrics";
import type { PublishOutcome, Publisher, RelayEvent } from "../src/builtins/relay/publisher";
import { Relay } from "../src/builtins/relay/relay";
import { StateStore } from "../src/builtins/relay/state-store";
import { startKafkaBroker, type KafkaBroker } from "../src/testing/kafka-broker";
import { recentChangeEvents, startSseServer } from "../src/testing/sse-server";
import { createLogger } from "../src/telemetry/log";

const VARIANTS = ["file", "kafka", "kafka-unbatched"] as const;
type Variant = (typeof VARIANTS)[number];
/** One request per event is slow: that variant gets fewer events so the run stays short. */
const UNBATCHED_MAX_EVENTS = 3000;

interface Result {
  variant: Variant;
  events: number;
  seconds: number;
  eventsPerSec: number;
  /** Produce requests (Kafka variants). */
  writes?: number;
}

/** Counts publishes that resolved. */
class Counting implements Publisher {
  done = 0;
  readonly kind;
  readonly maxPending;
  constructor(private readonly inner: Publisher) {
    this.kind = inner.kind;
    this.maxPending = inner.maxPending;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  async publish(event: RelayEvent): Promise<PublishOutcome> {
    const outcome = await this.inner.publish(event);
    this.done++;
    return outcome;
  }
}

async function measure(
  variant: Variant,
  events: number,
  dir: string,
  broker: KafkaBroker | undefined,
): Promise<Result> {
  const log = createLogger("bench-relay");
  log.level = "warn";
  const sse = recentChangeEvents(events);
  const server = await startSseServer({ events: sse });
  const work = fs.mkdtempSync(path.join(dir, `${variant}-`));
  let inner: Publisher;
  if (variant === "file") {
    inner = new FilePublisher(path.join(work, "events"), log);
  } else {
    const topic = `bench-${variant}-${Date.now()}`;
    const admin = new Kafka({ brokers: [broker!.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    inner = new KafkaPublisher({
      brokers: [broker!.bootstrap],
      topic,
      log,
      maxPending: variant === "kafka-unbatched" ? 1 : undefined,
    });
  }
  const publisher = new Counting(inner);
  const state = new StateStore(path.join(work, "state.json"));
  const relay = new Relay({ url: server.url, resume: true, publisher, state, log });
  const last = sse[sse.length - 1].id ?? sse[sse.length - 2].id;
  const writesBefore = await counterValue(relayMetrics.kafkaWrites);
  const started = process.hrtime.bigint();
  const running = relay.run();
  let seconds: number;
  try {
    for (;;) {
      if (publisher.done >= events) {
        const saved = await state.load().catch(() => undefined);
        if (saved?.lastEventId === last) break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await relay.stop();
    await running;
    await server.close();
  }
  const writes = (await counterValue(relayMetrics.kafkaWrites)) - writesBefore;
  return {
    variant,
    events,
    seconds: Math.round(seconds * 100) / 100,
    eventsPerSec: Math.round(events / seconds),
    ...(variant === "file" ? {} : { writes }),
  };
}

async function counterValue(counter: {
  get(): Promise<{ values: Array<{ value: number }> }>;
}): Promise<number> {
  return (await counter.get()).values[0]?.value ?? 0;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command("bench relay")
    .description("relay throughput per publisher (events/s)")
    .option("--events <n>", "events per variant", "20000")
    .option("--variants <list>", `comma-separated: ${VARIANTS.join(",")}`, VARIANTS.join(","))
    .option("--out <file>", "results file", path.resolve(__dirname, "results", "relay-latest.json"))
    .action(async (o: { events: string; variants: string; out: string }) => {
      const events = Number(o.events);
      if (!Number.isInteger(events) || events < 10) throw new Error(`--events must be an integer >= 10`);
      const variants = o.variants.split(",").map((v) => v.trim());
      for (const v of variants) {
        if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant ${v}`);
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-relay-"));
      const needsKafka = variants.some((v) => v.startsWith("kafka"));
      const broker = needsKafka ? await startKafkaBroker() : undefined;
      const results: Result[] = [];
      try {
        for (const v of variants as Variant[]) {
          const n = v === "kafka-unbatched" ? Math.min(events, UNBATCHED_MAX_EVENTS) : events;
          const r = await measure(v, n, dir, broker);
          results.push(r);
          process.stdout.write(
            `${r.variant.padEnd(16)} ${String(r.events).padStart(7)} events ${r.seconds.toFixed(2).padStart(7)} s ` +
              `${String(r.eventsPerSec).padStart(8)} events/s` +
              (r.writes === undefined ? "" : ` (${r.writes} produce requests)`) +
              "\n",
          );
        }
      } finally {
        await broker?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
      fs.mkdirSync(path.dirname(o.out), { recursive: true });
      fs.writeFileSync(
        o.out,
        JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, results }, null, 2) + "\n",
      );
    });
  await program.parseAsync(argv, { from: "user" });
}

if (require.main === module) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench relay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

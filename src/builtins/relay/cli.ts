/**
 * `conveyor relay ingest`: subscribe to an SSE stream and republish every
 * event to files (or Kafka), resuming after the last published event id.
 * Flags follow the seed tool (`--file.enable`, `--kafka.broker`, ...), plus
 * `--url` and `--state-file`. Commander keeps dotted option names as literal
 * keys ("file.publishDir"), so they are mapped to IngestConfig explicitly.
 */
import * as path from "node:path";
import { Command, Option } from "commander";
import { runUntilSignal } from "../../cli/signals";
import { ConveyorError } from "../../errors";
import { createLogger } from "../../telemetry/log";
import { startMetricsServer } from "../../telemetry/metrics";
import { FilePublisher } from "./file-publisher";
import { KafkaPublisher } from "./kafka-publisher";
import type { Publisher } from "./publisher";
import { Relay } from "./relay";
import { StateStore } from "./state-store";

export const DEFAULT_URL = "https://stream.wikimedia.org/v2/stream/recentchange";

export interface IngestConfig {
  url: string;
  publisher: { kind: "file"; publishDir: string } | { kind: "kafka"; brokers: string[]; topic: string };
  stateFile: string;
  resume: boolean;
  metricsPort: number;
  metricsHost: string;
  logLevel: "warn" | "info" | "debug";
}

/** The options object commander builds for `ingest` (dotted names are literal keys). */
export interface IngestFlags {
  url: string;
  "file.enable"?: boolean;
  "file.publishDir": string;
  "kafka.enable"?: boolean;
  "kafka.broker": string;
  "kafka.topic": string;
  metricsPort: string;
  metricsHost: string;
  resume: boolean;
  stateFile?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/** Validates the flags; a CONFIG_INVALID error for anything wrong (the CLI exits 2 with its message). */
export function ingestConfig(flags: IngestFlags): IngestConfig {
  const file = flags["file.enable"] === true;
  const kafka = flags["kafka.enable"] === true;
  if (file === kafka) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      file
        ? "enable exactly one publisher: --file.enable and --kafka.enable were both given"
        : "enable exactly one publisher: --file.enable or --kafka.enable",
    );
  }
  const port = Number(flags.metricsPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `--metricsPort must be a port number (0 disables): ${flags.metricsPort}`,
    );
  }
  let url: URL;
  try {
    url = new URL(flags.url);
  } catch {
    throw new ConveyorError("CONFIG_INVALID", `--url is not a URL: ${flags.url}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConveyorError("CONFIG_INVALID", `--url must be http(s): ${flags.url}`);
  }
  const publisher: IngestConfig["publisher"] = file
    ? { kind: "file", publishDir: flags["file.publishDir"] }
    : {
        kind: "kafka",
        brokers: kafkaBrokers(flags["kafka.broker"]),
        topic: kafkaTopic(flags["kafka.topic"]),
      };
  const stateFile =
    flags.stateFile ??
    (publisher.kind === "file" ? path.join(publisher.publishDir, ".relay-state.json") : "relay-state.json");
  return {
    url: flags.url,
    publisher,
    stateFile,
    resume: flags.resume,
    metricsPort: port,
    metricsHost: flags.metricsHost,
    logLevel: flags.quiet ? "warn" : flags.verbose ? "debug" : "info",
  };
}

function kafkaBrokers(flag: string): string[] {
  const brokers = flag.split(",").map((b) => b.trim());
  for (const b of brokers) {
    const port = Number(b.slice(b.lastIndexOf(":") + 1));
    if (!/^[^\s:]+:\d+$/.test(b) || port < 1 || port > 65535) {
      throw new ConveyorError("CONFIG_INVALID", `--kafka.broker must be host:port[,host:port…]: ${flag}`, {
        field: "kafka.broker",
        actual: flag,
      });
    }
  }
  return brokers;
}

/** Kafka's own rule for topic names. */
function kafkaTopic(flag: string): string {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(flag) || flag === "." || flag === "..") {
    throw new ConveyorError("CONFIG_INVALID", `--kafka.topic is not a valid Kafka topic name: ${flag}`, {
      field: "kafka.topic",
      actual: flag,
    });
  }
  return flag;
}

/** pflag's boolean flags and their other names, for `--flag=<bool>` (pleiades' `-r=false`). */
const BOOL_FLAGS: ReadonlyArray<{ names: readonly string[]; negated?: string }> = [
  { names: ["-r", "--resume"], negated: "--no-resume" },
  { names: ["-v", "--verbose"] },
  { names: ["-q", "--quiet"] },
  { names: ["--file.enable"] },
  { names: ["--kafka.enable"] },
];

/**
 * Rewrites pflag's `--flag=<bool>` / `-f=<bool>` (strconv.ParseBool values) into what commander takes:
 * true → the flag; false → its `--no-` form, or nothing (and earlier uses dropped: the last one wins,
 * as in pflag). Pure; throws an Error for a value that is not a boolean. Stops at `--`.
 */
export function normalizeBoolFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const m = /^(--?[A-Za-z][\w.-]*)=(.*)$/.exec(arg);
    const flag = m ? BOOL_FLAGS.find((f) => f.names.includes(m[1])) : undefined;
    if (!m || !flag) {
      out.push(arg);
      continue;
    }
    const value = m[2];
    let on: boolean;
    if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) on = true;
    else if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) on = false;
    else throw new Error(`invalid value "${value}" for ${m[1]}: use true or false`);
    for (let j = out.length - 1; j >= 0; j--) {
      if (flag.names.includes(out[j]) || out[j] === flag.negated) out.splice(j, 1);
    }
    if (on) out.push(flag.names[flag.names.length - 1]);
    else if (flag.negated !== undefined) out.push(flag.negated);
  }
  return out;
}

/** ingest's own flags, which pleiades (cobra) refuses before `ingest` as well. */
const INGEST_ONLY = /^(-r|--resume|--no-resume)(=.*)?$/;

/**
 * The first of `args` that is one of ingest's own flags placed before the `ingest` subcommand, for a clear
 * error instead of commander's "unknown option" naming the rewritten form. Pure.
 *
 * `args` are what commander hands `relay`: under the conveyor program, an `ingest` that came first is
 * already taken out as the subcommand's name (`relay ingest -r` gives `["-r"]`), so a flag counts as
 * misplaced only when `ingest` still follows it.
 */
export function ingestFlagBeforeIngest(args: readonly string[]): string | undefined {
  const end = args.indexOf("--");
  const scanned = end < 0 ? args : args.slice(0, end);
  const ingest = scanned.indexOf("ingest");
  return ingest < 0 ? undefined : scanned.slice(0, ingest).find((arg) => INGEST_ONLY.test(arg));
}

/** A Command that reads pflag's `--flag=<bool>` forms before commander parses its options. */
class PflagCommand extends Command {
  override parseOptions(argv: string[]): ReturnType<Command["parseOptions"]> {
    let args: string[];
    const misplaced = this.name() === "relay" ? ingestFlagBeforeIngest(argv) : undefined;
    if (misplaced !== undefined)
      this.error(
        `conveyor relay: ${misplaced} is an option of \`ingest\` (as in pleiades): put it after the subcommand, ` +
          `e.g. \`conveyor relay ingest ${misplaced}\``,
        { exitCode: 2, code: "conveyor.relay.flag" },
      );
    try {
      args = normalizeBoolFlags(argv);
    } catch (err) {
      this.error(`conveyor ${this.name()}: ${(err as Error).message}`, {
        exitCode: 2,
        code: "conveyor.relay.flag",
      });
    }
    return super.parseOptions(args);
  }
}

function exitOnUsageError(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    // Usage errors (unknown or conflicting options, bad values) exit 2 like the publisher check.
    process.exit(err.exitCode === 1 && err.code.startsWith("commander.") ? 2 : err.exitCode);
  });
}

/**
 * `conveyor relay [global flags] ingest [flags]`: pleiades' shape (`pleiades [global flags] ingest`). The
 * publisher, metrics and log flags are options of `relay` (pleiades' persistent root flags), so they go
 * before or after `ingest`; `-r/--resume` is ingest's own, as in pleiades.
 */
export function relayCommand(): Command {
  const relay = new PflagCommand("relay")
    .description("relay a Server-Sent-Events stream (e.g. Wikimedia recentchange) to files or Kafka")
    .option("--url <url>", "SSE stream URL", DEFAULT_URL)
    .option("--file.enable", "publish each event as a file in --file.publishDir")
    .option("--file.publishDir <dir>", "directory for the event files", "./events")
    .option("--kafka.enable", "publish every event to --kafka.topic (keyed by wiki, acks=all, idempotent)")
    .option("--kafka.broker <host:port>", "Kafka bootstrap broker(s), comma-separated", "localhost:9092")
    .option("--kafka.topic <topic>", "Kafka topic", "pleiades-events")
    .option("--metricsPort <port>", "port for Prometheus /metrics (0 disables)", "9000")
    .option("--metricsHost <host>", "address for /metrics", "0.0.0.0")
    .option(
      "--state-file <file>",
      "where the last published event id is kept (default: <publishDir>/.relay-state.json for files, " +
        "./relay-state.json for Kafka)",
    )
    .addOption(new Option("-q, --quiet", "log warnings and errors only").conflicts("verbose"))
    .addOption(new Option("-v, --verbose", "log every event (debug)").conflicts("quiet"));
  return exitOnUsageError(relay).addCommand(ingestCommand());
}

function ingestCommand(): Command {
  const ingest = new PflagCommand("ingest")
    .description(
      "subscribe to an SSE stream and publish every event (one file per event, or Kafka), " +
        "resuming after the last published event id across restarts",
    )
    .configureHelp({ showGlobalOptions: true })
    .option("-r, --resume", "resume after the saved event id (Last-Event-ID); -r=false as in pleiades", true)
    .option("--no-resume", "start from the live end of the stream, ignoring the saved id");
  return exitOnUsageError(ingest)
    .addHelpText(
      "after",
      [
        "",
        "Exactly one publisher must be enabled. The relay flags go before or after `ingest`; boolean flags",
        "also take pflag's =true/=false (-r=false, --kafka.enable=true). Exit status: 0 after SIGTERM/SIGINT",
        "(the event being published is finished and its id saved), 1 when start-up fails, 2 for invalid or",
        "conflicting flags.",
        "",
        "Examples:",
        "  $ conveyor relay ingest --file.enable --file.publishDir ./events --metricsPort 0",
        "  $ conveyor relay -v --kafka.enable --kafka.broker=my-cluster-kafka-bootstrap:9092 ingest -r=false",
      ].join("\n"),
    )
    .action(async function (this: Command) {
      let config: IngestConfig;
      try {
        config = ingestConfig(this.optsWithGlobals<IngestFlags>());
      } catch (err) {
        if (!(err instanceof ConveyorError)) throw err;
        this.error(`conveyor relay ingest: ${err.message}`, { exitCode: 2, code: "conveyor.relay.config" });
      }
      await runIngest(config);
    });
}

export async function runIngest(config: IngestConfig): Promise<void> {
  const log = createLogger("relay");
  log.level = config.logLevel;
  const publisher = createPublisher(config, log);
  const relay = new Relay({
    url: config.url,
    resume: config.resume,
    publisher,
    state: new StateStore(config.stateFile),
    log,
  });
  const metricsServer = startMetricsServer(config.metricsPort, config.metricsHost, log);
  const running = relay.run();
  void runUntilSignal(async () => {
    await relay.stop();
    metricsServer?.close();
  });
  await running;
}

function createPublisher(config: IngestConfig, log: ReturnType<typeof createLogger>): Publisher {
  const p = config.publisher;
  switch (p.kind) {
    case "file":
      return new FilePublisher(p.publishDir, log.child({ publisher: "file" }));
    case "kafka":
      return new KafkaPublisher({
        brokers: p.brokers,
        topic: p.topic,
        log: log.child({ publisher: "kafka" }),
      });
  }
}

/**
 * `conveyor mirror validate|run|status --config <file>`.
 *
 *   validate  OK: 2 mirror(s), destination type = s3 → stdout, exit 0
 *             INVALID: mirror.yaml + every problem  → stderr, exit 1
 *   run       runs every mirror of the file in this process; SIGTERM/SIGINT flush and exit 0;
 *             a mirror error stops all (each flushed) and exits 1
 *   status    MIRROR  PARTITION  SOURCE-HIGH  DEST-NEXT  LAG   (or --format json / --json: mirror-v3's keys);
 *             exit 1 if any is in error
 */
import { Command, Option } from "commander";
import { ConveyorError } from "../../errors";
import { createLogger, flushLogs } from "../../telemetry/log";
import { startMetricsServer } from "../../telemetry/metrics";
import { loadMirrorConfig, type MirrorPlan } from "./config";
import { runMirrors } from "./runner";
import { formatStatusTable, mirrorStatus, statusJson } from "./status";

interface ConfigOptions {
  config: string;
}

function writers(cmd: Command): { out(s: string): void; err(s: string): void } {
  const o = cmd.configureOutput();
  return {
    out: (s) => (o.writeOut ?? ((t: string) => process.stdout.write(t)))(s),
    err: (s) => (o.writeErr ?? ((t: string) => process.stderr.write(t)))(s),
  };
}

/** Loads the config or reports every problem and exits 1. */
function loadOrExit(cmd: Command, file: string): MirrorPlan[] {
  try {
    return loadMirrorConfig(file);
  } catch (err) {
    if (!(err instanceof ConveyorError)) throw err;
    const problems = Array.isArray(err.details.problems) ? (err.details.problems as string[]) : [err.message];
    writers(cmd).err(`INVALID: ${file}\n${problems.map((p) => `  - ${p}\n`).join("")}`);
    cmd.error(`conveyor mirror: ${file} is invalid (${problems.length} problem(s))`, {
      exitCode: 1,
      code: "conveyor.mirror.invalid",
    });
  }
}

/** mirror-v3's MIRROR_V3_METRICS_PORT when MIRROR_METRICS_PORT / --metrics-port are not given (default 9090). */
function envPort(): number {
  const v = process.env.MIRROR_V3_METRICS_PORT;
  const n = v === undefined ? 9090 : Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : 9090;
}

/** mirror-v3's MIRROR_V3_HEARTBEAT_SECS: the heartbeat interval, 0 disables it (default 30 s). */
function heartbeatMs(): number {
  const v = process.env.MIRROR_V3_HEARTBEAT_SECS;
  if (v === undefined || v.trim() === "") return 30_000;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`MIRROR_V3_HEARTBEAT_SECS: invalid number of seconds: ${v}`);
  return n * 1000;
}

const configOption = (): Option =>
  new Option("-c, --config <file>", "mirror config file (YAML or JSON)")
    .env("MIRROR_CONFIG")
    .makeOptionMandatory();

function validateSubcommand(): Command {
  return new Command("validate")
    .summary("check a mirror config without running it")
    .description(
      "check a mirror config: schema (unknown fields rejected), unique mirror names and (topic, partition), " +
        "${VAR} / ${VAR:-default} interpolation from the environment",
    )
    .addOption(configOption())
    .action(function (this: Command, options: ConfigOptions) {
      const plans = loadOrExit(this, options.config);
      const type = plans[0]?.destination.type;
      writers(this).out(`OK: ${plans.length} mirror(s)${type ? `, destination type = ${type}` : ""}\n`);
    });
}

interface RunOptions extends ConfigOptions {
  metricsPort: number;
  retryBudgetMs: number;
}

function runSubcommand(): Command {
  return new Command("run")
    .summary("run every mirror of a config in this process")
    .description(
      "copy each configured Kafka partition to the destination, exactly once, continuing from what the " +
        "destination holds. SIGTERM or SIGINT flushes what is buffered and exits 0; an error stops every " +
        "mirror (each flushed) and exits 1.",
    )
    .addOption(configOption())
    .addOption(
      new Option("--metrics-port <port>", "serve Prometheus /metrics on this port (0 disables)")
        .env("MIRROR_METRICS_PORT")
        .default(envPort())
        .argParser((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port: ${v}`);
          return n;
        }),
    )
    .addOption(
      new Option(
        "--retry-budget-ms <ms>",
        "how long an unreachable destination is retried before the mirror fails",
      )
        .env("MIRROR_RETRY_BUDGET_MS")
        .default(30_000)
        .argParser((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 0) throw new Error(`invalid duration: ${v}`);
          return n;
        }),
    )
    .action(async function (this: Command, options: RunOptions) {
      const plans = loadOrExit(this, options.config);
      if (plans.length === 0) {
        this.error(`conveyor mirror: ${options.config} configures no mirrors; nothing to run`, {
          exitCode: 1,
          code: "conveyor.mirror.empty",
        });
      }
      const log = createLogger("mirror");
      startMetricsServer(options.metricsPort, "0.0.0.0", log);
      const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
        for (const sig of ["SIGTERM", "SIGINT"] as const) {
          process.once(sig, () => {
            log.info({ signal: sig }, "stopping: flushing every mirror");
            resolve(sig);
          });
        }
      });
      const failures = await runMirrors(plans, {
        log,
        stopSignal,
        retryBudgetMs: options.retryBudgetMs,
        heartbeatMs: heartbeatMs(),
      });
      for (const f of failures) writers(this).err(`conveyor mirror: ${f.code}: ${f.message}\n`);
      flushLogs();
      process.exit(failures.length > 0 ? 1 : 0);
    });
}

interface StatusOptions extends ConfigOptions {
  format: "table" | "json";
  json?: boolean;
}

function statusSubcommand(): Command {
  return new Command("status")
    .summary("source high watermark, destination next offset and lag of each mirror")
    .addOption(configOption())
    .addOption(
      new Option(
        "--format <format>",
        "table, or json: mirror-v3's array of {name, source_high, dest_next, error}",
      )
        .choices(["table", "json"])
        .default("table"),
    )
    .option("--json", "the same as --format json")
    .action(async function (this: Command, options: StatusOptions) {
      const plans = loadOrExit(this, options.config);
      const rows = await Promise.all(plans.map(mirrorStatus));
      const w = writers(this);
      const json = options.json === true || options.format === "json";
      w.out(json ? `${JSON.stringify(statusJson(rows), null, 2)}\n` : formatStatusTable(rows));
      const bad = rows.filter((r) => r.error !== null);
      if (bad.length > 0) {
        this.error(`conveyor mirror status: ${bad.length} mirror(s) in error`, {
          exitCode: 1,
          code: "conveyor.mirror.error",
        });
      }
      process.exit(0); // kafkajs may keep sockets in their close handshake for a while
    });
}

export function mirrorCommand(): Command {
  return new Command("mirror")
    .summary("exactly-once Kafka partition mirror (validate | run | status)")
    .description(
      "copy Kafka topic partitions to a destination exactly once: no duplicates, no gaps, across crashes and " +
        "restarts, with the destination as the only checkpoint (docs/mirror.md)",
    )
    .addCommand(validateSubcommand())
    .addCommand(runSubcommand())
    .addCommand(statusSubcommand());
}

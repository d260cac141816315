/**
 * `conveyor sling run|noop|backfill|quickstart`: the Sling job for a Kubernetes CronJob.
 *
 *   run        every pipeline (SLING_CONFIG, or each *.yaml/*.yml in PIPELINE_DIR in name order) in the
 *              SYNC_MODE given (normal by default); a table of results on stdout, JSON logs on stderr
 *   noop       check the binary, files, connections and state; sync nothing
 *   backfill   clear SLING_STATE, then a full refresh of every pipeline
 *   quickstart two sample mission databases synced into a command database, to see it work
 *
 * Exit status: 0 every pipeline succeeded (noop: no problem found); 1 a pipeline failed (or noop found a
 * problem, or Sling is missing); 2 invalid configuration; 130/143 stopped by SIGINT/SIGTERM (the running
 * Sling process group is killed first).
 */
import { Command, Option } from "commander";
import { ConveyorError } from "../../errors";
import { createLogger, flushLogs } from "../../telemetry/log";
import { resolveSlingConfig, SETTINGS, type SlingFlags, type SyncMode } from "./job-config";
import { EXIT, executeSlingJob } from "./job";
import { runQuickstart } from "./quickstart";

type FlagKey = keyof SlingFlags;

const FLAG_HELP: { [K in FlagKey]: { arg: string; help: string } } = {
  clusterId: { arg: "<id>", help: "mission cluster id, on every span, log line and state record" },
  config: { arg: "<file>", help: "one Sling replication file (excludes --pipeline-dir)" },
  pipelineDir: { arg: "<dir>", help: "directory of Sling replication files, run in name order" },
  state: { arg: "<file-url>", help: "state file: file://./x.json is the relative path ./x.json" },
  mode: { arg: "<mode>", help: "normal | noop | backfill" },
  maxRetries: { arg: "<n>", help: "retries after a failed attempt of a pipeline" },
  backoffBase: { arg: "<duration>", help: "wait before the first retry; doubles each retry (ms, s, m, h)" },
  slingBin: { arg: "<path>", help: "Sling CLI binary (a path, or a name looked up on PATH)" },
  timeout: { arg: "<duration>", help: "kill a Sling run after this long (the attempt fails)" },
  otlpEndpoint: {
    arg: "<endpoint>",
    help: "OTLP collector: host:port or http(s)://host:4317 (gRPC), http(s)://host:4318 (HTTP JSON); spans are exported only when set",
  },
  otlpProtocol: {
    arg: "<protocol>",
    help: "grpc | http/json (env OTEL_EXPORTER_OTLP_TRACES_PROTOCOL first); inferred from the endpoint when unset",
  },
  metricsPort: { arg: "<port>", help: "serve Prometheus /metrics while the job runs (0 = off)" },
  metricsFile: { arg: "<file>", help: "write the metrics here when the job ends (textfile collector)" },
  pushgateway: { arg: "<url>", help: "push the metrics to this Prometheus Pushgateway when the job ends" },
};

/** The attribute commander stores a flag under: --mission-cluster-id → missionClusterId. */
function attributeOf(flag: string): string {
  return flag.replace(/^--/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The job flags as options of `conveyor sling` itself: commander recognises a parent's options before
 * and after the subcommand, so `sling --config x run` and `sling run --config x` both work, as the
 * wrapper's cobra persistent flags did. Conveyor's earlier names are hidden aliases.
 */
function jobOptions(): Option[] {
  const options: Option[] = [];
  for (const key of Object.keys(FLAG_HELP) as FlagKey[]) {
    if (key === "mode") continue; // run's own (SYNC_MODE); noop and backfill fix it
    const s = SETTINGS[key];
    const aliases = s.aliases.length > 0 ? ` (alias ${s.aliases.join(", ")})` : "";
    const help =
      `${FLAG_HELP[key].help}${aliases} [env ${s.env}` +
      `${s.default !== undefined ? `, default ${s.default}` : ""}]`;
    // No commander .env()/.default(): job-config.ts resolves flag > env > default, so "given" stays observable
    // (SLING_CONFIG and PIPELINE_DIR both given is an error; the default directory alone is not).
    options.push(new Option(`${s.flag} ${FLAG_HELP[key].arg}`, help));
    for (const alias of s.aliases) options.push(new Option(`${alias} ${FLAG_HELP[key].arg}`).hideHelp());
  }
  return options;
}

/** Commander's parsed options → SlingFlags; a flag given under two of its names with two values is refused. */
export function slingFlagsFrom(opts: { [attribute: string]: unknown }): {
  flags: SlingFlags;
  problems: string[];
} {
  const flags: SlingFlags = {};
  const problems: string[] = [];
  for (const key of Object.keys(FLAG_HELP) as FlagKey[]) {
    const s = SETTINGS[key];
    const names: string[] = [s.flag, ...s.aliases];
    const values = names
      .map((name) => ({ name, value: opts[attributeOf(name)] }))
      .filter((v): v is { name: string; value: string } => typeof v.value === "string");
    if (values.length === 0) continue;
    if (new Set(values.map((v) => v.value)).size > 1) {
      problems.push(
        `${values.map((v) => `${v.name} "${v.value}"`).join(" and ")} name one setting: give one`,
      );
    }
    flags[key] = values[0].value;
  }
  return { flags, problems };
}

function exitOnUsageError(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    process.exit(err.exitCode === 1 && err.code.startsWith("commander.") ? EXIT.invalid : err.exitCode);
  });
}

function jobCommand(
  name: string,
  summary: string,
  forcedMode: SyncMode | undefined,
  extraHelp: string,
): Command {
  const cmd = new Command(name)
    .summary(summary)
    .description(`${summary}. ${extraHelp}`)
    .configureHelp({ showGlobalOptions: true });
  if (forcedMode === undefined) {
    const s = SETTINGS.mode;
    cmd.addOption(
      new Option(
        `${s.flag} ${FLAG_HELP.mode.arg}`,
        `${FLAG_HELP.mode.help} [env ${s.env}, default ${s.default}]`,
      ),
    );
    cmd.alias("sync");
  }
  exitOnUsageError(cmd);
  cmd.addHelpText(
    "after",
    [
      "",
      "The job flags go before or after the subcommand (sling --config x.yaml run = sling run --config x.yaml).",
      "Sling reads connections from env vars holding URLs, e.g. MISSION=sqlite:///data/mission.db,",
      "COMMAND=postgresql://user:pass@host:5432/command. SLING_TIMEOUT and SLING_STATE are the wrapper's",
      "and are not passed to Sling; SLING_LOGGING=JSON and SYNC_JOB_ID (this job's id) are set for it.",
      "",
      "Exit status: 0 all pipelines succeeded, 1 a pipeline failed, 2 invalid configuration,",
      "130/143 stopped by SIGTERM/SIGINT. Docs: docs/sling.md",
    ].join("\n"),
  );
  cmd.action(async function (this: Command) {
    let config;
    try {
      const { flags, problems } = slingFlagsFrom(this.optsWithGlobals());
      if (problems.length > 0) throw new ConveyorError("CONFIG_INVALID", problems.join("; "), { problems });
      config = resolveSlingConfig(flags, process.env, forcedMode);
    } catch (err) {
      if (!(err instanceof ConveyorError)) throw err;
      process.stderr.write(`conveyor sling ${name}: ${err.message}\n`);
      process.exit(EXIT.invalid);
    }
    const log = createLogger("sling");
    const stop = new AbortController();
    let stoppedBy: NodeJS.Signals | undefined;
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      process.on(sig, () => {
        if (stoppedBy !== undefined) process.exit(sig === "SIGINT" ? 130 : 143); // second signal: now
        stoppedBy = sig;
        log.warn({ signal: sig }, "stopping: killing the running Sling process");
        stop.abort();
      });
    }
    const outcome = await executeSlingJob(config, {
      out: process.stdout,
      err: process.stderr,
      log,
      env: process.env,
      signal: stop.signal,
    });
    flushLogs();
    process.exit(stoppedBy === "SIGINT" ? 130 : stoppedBy === "SIGTERM" ? 143 : outcome.exitCode);
  });
  return cmd;
}

function quickstartCommand(): Command {
  return new Command("quickstart")
    .summary("create two sample mission SQLite databases and sync them into a command database")
    .description(
      "create two sample mission SQLite databases (through Sling itself), write one replication file per " +
        "mission, and run a normal sync, then an incremental one after new rows arrive, into a command " +
        "database: SQLite by default, or PostgreSQL with --postgres-url.",
    )
    .option("--dir <dir>", "working directory for the databases, pipelines and state", "./sling-quickstart")
    .option("--postgres-url <url>", "command database as a PostgreSQL URL instead of a SQLite file")
    .configureHelp({ showGlobalOptions: true })
    .action(async function (this: Command) {
      const opts = this.opts<{ dir: string; postgresUrl?: string }>();
      const { flags } = slingFlagsFrom(this.optsWithGlobals());
      const code = await runQuickstart({
        dir: opts.dir,
        ...(opts.postgresUrl !== undefined ? { postgresUrl: opts.postgresUrl } : {}),
        slingBin: flags.slingBin ?? (process.env.SLING_BIN || "sling"),
        out: process.stdout,
        err: process.stderr,
        env: process.env,
      });
      flushLogs();
      process.exit(code);
    });
}

export function slingCommand(): Command {
  const sling = new Command("sling");
  for (const option of jobOptions()) sling.addOption(option);
  return exitOnUsageError(sling)
    .summary("Sling jobs: mission databases → command database (run | noop | backfill | quickstart)")
    .description(
      "run Sling replication files (sling run -r <file>) as one job: retries with exponential backoff, a " +
        "timeout, one OpenTelemetry trace per job and one span per pipeline, JSON logs with trace ids, " +
        "Prometheus metrics (docs/sling.md)",
    )
    .addCommand(
      jobCommand(
        "run",
        "run every pipeline once in SYNC_MODE (normal: incremental)",
        undefined,
        "One failing pipeline does not stop the next; the job exits 1 if any failed.",
      ),
    )
    .addCommand(
      jobCommand(
        "noop",
        "check the Sling binary, every pipeline file, its connections and the state; sync nothing",
        "noop",
        "Exits 1 when a problem is found, listing each.",
      ),
    )
    .addCommand(
      jobCommand(
        "backfill",
        "clear the state, then a full refresh of every pipeline",
        "backfill",
        "Each replication runs with `-m full-refresh`; refuses a state path of / or .",
      ),
    )
    .addCommand(quickstartCommand());
}

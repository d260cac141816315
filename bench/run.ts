/**
 * `npm run bench`: records/s and p50/p99 latency of the demo-shaped pipeline
 * (gen → enrich → out across two pods, through Conveyor) against the same
 * three services wired directly with grpc-js, in the same run, 1 KB records.
 *
 *   tsx bench/run.ts [--records N | --quick] [--repeats R] [--payload-bytes B]
 *                    [--batch-size N] [--in-flight N] [--rate N] [--variants direct,conveyor[,conveyor-ordered][,conveyor-mtls][,conveyor-traced-1][,conveyor-traced-100]]
 *                    [--cpu-prof] [--keep] [--check] [--quiet-wait SECS] [--out FILE]
 *                    [--only pipeline|mirror] [--mirror-records N] [--mirror-payload-bytes B[,B...]]
 *
 * The mirror section (bench/mirror.ts: Kafka → filesystem vs kcat, Kafka → Kafka
 * exactly-once) runs after the pipeline variants; --only picks one of the two.
 *
 * Writes bench/results/latest.json and prints a table. Repeats alternate the
 * order (direct first, then conveyor first, …). --cpu-prof samples every child
 * with the V8 profiler and adds per-process hot spots (inside the measurement
 * window) to the JSON. --check exits 1 when a target is missed. See
 * docs/benchmarks.md for the method and the figures. `tsx bench/run.ts failover`
 * measures the failover time instead (bench/failover.ts); `tsx bench/run.ts router-failover`
 * the router cluster's leader failover (bench/router-failover.ts); `tsx bench/run.ts soak` the RSS of
 * a long run at a fixed rate (bench/soak.ts); `tsx bench/run.ts scaling` a sidecar's RSS per pipeline,
 * per peer and per memory setting (bench/scaling.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, Option } from "commander";
import { generatorRecord } from "../src/sdk";
import { recordSize } from "../src/records";
import { benchPipeline, runConveyor } from "./conveyor";
import { DIRECT_DEFAULTS, runDirect } from "./direct";
import { main as failoverMain } from "./failover";
import { main as routerFailoverMain } from "./router-failover";
import { main as relayMain } from "./relay";
import { main as soakMain } from "./soak";
import { main as scalingMain } from "./scaling";
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import { mirrorBenchSection, runMirrorOnly } from "./mirror";
import { HOP_DEFAULTS, type HopResult } from "./hop";
import {
  formatTable,
  median,
  round,
  waitForQuietMachine,
  writeProfilerPreload,
  VARIANTS,
  type VariantName,
  type VariantOptions,
  type VariantResult,
} from "./stats";

const TARGETS = { minRatio: 0.5, minRecordsPerSec: 100_000 } as const;
const RESULTS_DIR = path.resolve(__dirname, "results");

interface CliOptions {
  records: number;
  quick: boolean;
  repeats: number;
  payloadBytes: number;
  variants: string;
  cpuProf: boolean;
  keep: boolean;
  check: boolean;
  quietWait: number;
  rate?: number;
  batchSize: number;
  inFlight: number;
  out: string;
  only?: "pipeline" | "mirror";
  mirrorRecords: number;
  mirrorPayloadBytes: number[];
}

interface Summary {
  variant: VariantName;
  runs: number;
  recordsPerSec: number;
  steadyRecordsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMicrosPerRecord: number;
}

const program = new Command("bench")
  .description("Conveyor vs direct grpc-js: records/s and p50/p99 latency, 1 KB records")
  .addOption(new Option("--records <n>", "records per run").default(200_000).argParser(positiveInt))
  .option("--quick", "30,000 records per run", false)
  .addOption(
    new Option("--repeats <n>", "runs per variant (alternating order)").default(1).argParser(positiveInt),
  )
  .addOption(
    new Option("--payload-bytes <n>", "generator payload size (record ≈ payload + 40 bytes)")
      .default(1000)
      .argParser(positiveInt),
  )
  .option("--variants <list>", "which variants, comma-separated", "direct,conveyor")
  .option(
    "--cpu-prof",
    "profile every child (V8 sampling profiler) and add its hot spots during the run to the JSON (slows the run down)",
    false,
  )
  .option("--keep", "keep the work directory (logs, stats files, profiles)", false)
  .option("--check", "exit 1 when a target is missed", false)
  .addOption(
    new Option("--batch-size <n>", "records per batch on every hop (pipeline settings.batchSize)")
      .default(DEFAULT_SETTINGS.batchSize)
      .argParser(positiveInt),
  )
  .addOption(
    new Option(
      "--in-flight <n>",
      "records read and not yet confirmed (settings.maxInFlightRecords; the driver's credits)",
    )
      .default(DEFAULT_SETTINGS.maxInFlightRecords)
      .argParser(positiveInt),
  )
  .addOption(
    new Option(
      "--rate <n>",
      "limit the source to n records/s (latency below saturation; default: as fast as possible)",
    ).argParser(positiveInt),
  )
  .addOption(
    new Option(
      "--quiet-wait <secs>",
      "before each run, wait up to this long for the machine to be < 25% busy (0 = don't)",
    )
      .default(120)
      .argParser(nonNegativeInt),
  )
  .option("--out <file>", "JSON result file", path.join(RESULTS_DIR, "latest.json"))
  .addOption(
    new Option("--only <part>", "run only the pipeline variants or only the mirror bench").choices([
      "pipeline",
      "mirror",
    ]),
  )
  .addOption(
    new Option("--mirror-records <n>", "records in the mirror bench's topic")
      .default(200_000)
      .argParser(positiveInt),
  )
  .addOption(
    new Option("--mirror-payload-bytes <list>", "value sizes of the mirror bench's records (one run each)")
      .default([200, 1000])
      .argParser((v: string) => v.split(",").map((x) => positiveInt(x.trim()))),
  )
  .action(async (o: CliOptions) => {
    process.exitCode = await main(o);
  });

async function main(o: CliOptions): Promise<number> {
  const mirrorOptions = {
    records: o.mirrorRecords,
    payloadBytes: o.mirrorPayloadBytes,
    quietWaitMs: o.quietWait * 1000,
    keep: o.keep,
    check: o.check,
    log: (line: string): void => void process.stderr.write(`${line}\n`),
  };
  if (o.only === "mirror") return runMirrorOnly(o.out, mirrorOptions);
  const records = o.quick ? 30_000 : o.records;
  const variants = o.variants.split(",").map((v) => v.trim()) as VariantName[];
  for (const v of variants)
    if (!(VARIANTS as readonly string[]).includes(v))
      throw new Error(`unknown variant "${v}" (${VARIANTS.join(", ")})`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-bench-"));
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const sample = generatorRecord(0, { payloadBytes: o.payloadBytes });
  const recordBytes = recordSize(sample);
  // A rate-limited source bursts through what it was allowed while the pipeline started (a few seconds' worth).
  const warmupRecords = Math.min(records - 1, Math.max(Math.floor(records / 10), o.rate ? o.rate * 3 : 0));
  say(
    `bench: ${records.toLocaleString("en-US")} records of ~${recordBytes} bytes per run${o.rate ? ` at ${o.rate.toLocaleString("en-US")} records/s` : ""}, ${o.repeats} repeat(s), work dir ${workDir}`,
  );
  say(
    `bench: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );

  const results: VariantResult[] = [];
  const started = new Date();
  try {
    for (let repeat = 1; repeat <= o.repeats; repeat++) {
      const order = repeat % 2 === 1 ? variants : [...variants].reverse();
      for (const variant of order) {
        const dir = path.join(workDir, `${variant}-${repeat}`);
        fs.mkdirSync(dir, { recursive: true });
        const cpuProfDir = o.cpuProf ? path.join(dir, "profiles") : undefined;
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
        };
        if (cpuProfDir) {
          const preload = path.join(dir, "cpu-profiler.js");
          writeProfilerPreload(preload, cpuProfDir);
          env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --require ${preload}`.trim();
        }
        const vo: VariantOptions = {
          records,
          payloadBytes: o.payloadBytes,
          rate: o.rate,
          batchSize: o.batchSize,
          inFlightRecords: o.inFlight,
          warmupRecords,
          dir,
          env,
          cpuProfDir,
          stallMs: 30_000,
          log: say,
        };
        say(`bench: run ${repeat}/${o.repeats}: ${variant}`);
        if (o.quietWait > 0) await waitForQuietMachine(o.quietWait * 1000, 0.25, say);
        const r = variant === "direct" ? await runDirect(vo, repeat) : await runConveyor(vo, repeat, variant);
        say(
          `bench:   ${variant}: ${r.recordsPerSec.toLocaleString("en-US")} records/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ` +
            `${r.totalCpuSeconds} CPU s (${r.cpuMicrosPerRecord} µs/record), other work on the machine ${Math.round(r.contention.otherShare * 100)}%`,
        );
        results.push(r);
      }
    }
  } catch (err) {
    say(`bench: failed; logs kept in ${workDir}`);
    throw err;
  }
  if (!o.keep) fs.rmSync(workDir, { recursive: true, force: true });
  say("bench: transport floor (one hop carrying pre-built batches: grpc-js, then node:http2)");
  if (o.quietWait > 0) await waitForQuietMachine(o.quietWait * 1000, 0.25, say);
  // In a fresh process: this one's heap, full from the runs, would tax the client side.
  const hopOutput = execFileSync(
    process.execPath,
    [...process.execArgv, path.join(__dirname, "hop.ts"), "--record-bytes", String(recordBytes)],
    { encoding: "utf8" },
  );
  const floor = transportFloor(
    hopOutput
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as HopResult),
  );

  say("bench: footprint (scripts/footprint.sh: --help, idle RSS, exec -> SERVING; compiled CLI)");
  const footprint = footprintSection(
    execFileSync("bash", [path.join(__dirname, "..", "scripts", "footprint.sh")], {
      encoding: "utf8",
      env: { ...process.env, N: "10" },
    }),
  );

  const summaries = variants.map((v) =>
    summarize(
      v,
      results.filter((r) => r.variant === v),
    ),
  );
  const direct = summaries.find((s) => s.variant === "direct");
  const conveyor = summaries.find((s) => s.variant === "conveyor");
  const ratio = direct && conveyor ? round(conveyor.recordsPerSec / direct.recordsPerSec, 2) : undefined;
  // The cost of ordering: key, as the ordered variant's throughput over the unordered one's (same run).
  const ordered = summaries.find((s) => s.variant === "conveyor-ordered");
  const orderingRatio =
    ordered && conveyor ? round(ordered.recordsPerSec / conveyor.recordsPerSec, 2) : undefined;
  // The cost of mutual TLS on every hop between our processes (same run): throughput and CPU per record.
  const mtls = summaries.find((s) => s.variant === "conveyor-mtls");
  const mtlsRatio =
    mtls && conveyor
      ? {
          recordsPerSec: round(mtls.recordsPerSec / conveyor.recordsPerSec, 2),
          cpuMicrosPerRecord: round(mtls.cpuMicrosPerRecord / conveyor.cpuMicrosPerRecord, 2),
        }
      : undefined;
  // The cost of tracing (OTLP export to a draining receiver, same run): throughput and CPU per record
  // at 1 % and 100 % sampling over the conveyor variant with tracing off.
  const tracingRatio = Object.fromEntries(
    (["conveyor-traced-1", "conveyor-traced-100"] as const).flatMap((v) => {
      const traced = summaries.find((s) => s.variant === v);
      return traced && conveyor
        ? [
            [
              v,
              {
                recordsPerSec: round(traced.recordsPerSec / conveyor.recordsPerSec, 2),
                cpuMicrosPerRecord: round(traced.cpuMicrosPerRecord / conveyor.cpuMicrosPerRecord, 2),
              },
            ],
          ]
        : [];
    }),
  );
  const targets = {
    ratio: {
      target: `≥ ${TARGETS.minRatio}× direct`,
      actual: ratio,
      // With --rate the throughput is the rate: the targets do not apply.
      met: ratio === undefined || o.rate ? undefined : ratio >= TARGETS.minRatio,
    },
    throughput: {
      target: `≥ ${TARGETS.minRecordsPerSec.toLocaleString("en-US")} records/s`,
      actual: conveyor?.recordsPerSec,
      met: conveyor && !o.rate ? conveyor.recordsPerSec >= TARGETS.minRecordsPerSec : undefined,
    },
  };

  const report = {
    timestamp: started.toISOString(),
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      totalMemMb: Math.round(os.totalmem() / 2 ** 20),
      git: gitState(),
      loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
    },
    settings: {
      records,
      payloadBytes: o.payloadBytes,
      recordBytes,
      sourceRate: o.rate ?? "unlimited",
      warmupRecords,
      repeats: o.repeats,
      cpuProfiles: o.cpuProf,
      batchSize: o.batchSize,
      inFlightRecords: o.inFlight,
      direct: { ...DIRECT_DEFAULTS, batchSize: o.batchSize, credits: o.inFlight },
      conveyor: {
        topology: "router 127.0.0.1; pod A 127.0.0.2 (sidecar, gen); pod B 127.0.0.3 (sidecar, enrich, out)",
        pipeline: benchPipeline({ batchSize: o.batchSize, inFlightRecords: o.inFlight }),
      },
    },
    summary: { variants: summaries, ratio, orderingRatio, mtlsRatio, tracingRatio, targets },
    runs: results,
    transportFloor: floor,
    footprint,
    mirror: o.only === "pipeline" ? undefined : await mirrorBenchSection(mirrorOptions),
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);

  const rows = [
    ...results.map((r) => [
      `${r.variant} #${r.repeat}`,
      r.received,
      r.recordsPerSec,
      r.latencyMs.p50,
      r.latencyMs.p99,
      r.totalCpuSeconds,
      `${Math.round(r.contention.otherShare * 100)}%`,
      ratioOf(r, results),
    ]),
    ...(o.repeats > 1
      ? summaries.map((s) => [
          `${s.variant} (median of ${s.runs})`,
          records,
          s.recordsPerSec,
          s.p50Ms,
          s.p99Ms,
          "",
          "",
          s.variant === "conveyor" && ratio !== undefined ? `${ratio}` : "",
        ])
      : []),
  ];
  process.stdout.write(
    `\n${formatTable(["variant", "records", "records/s", "p50 ms", "p99 ms", "CPU s", "other load", "ratio"], rows)}\n\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `${r.variant} #${r.repeat} CPU seconds: ${r.cpu.map((c) => `${c.process} ${c.cpuSeconds}`).join(", ")}\n` +
        `${r.variant} #${r.repeat} peak RSS MiB: ${r.cpu.map((c) => `${c.process} ${c.peakRssMiB ?? "?"}`).join(", ")}\n`,
    );
  }
  process.stdout.write(
    `\ntransport floor, one hop of ${HOP_DEFAULTS.batchRecords}-record batches (median CPU µs per record, client + server): ` +
      `grpc-js ${floor.grpcJsHopMicros}, node:http2 ${floor.http2HopMicros}\n` +
      `  → ceiling on ${floor.cpus} CPUs, transport alone: conveyor (${floor.conveyorHops} hops) ` +
      `${floor.conveyorCeilingRecordsPerSec.toLocaleString("en-US")} records/s, direct (${floor.directHops} hops) ` +
      `${floor.directCeilingRecordsPerSec.toLocaleString("en-US")} records/s\n`,
  );
  const mark = (met: boolean | undefined): string => (met === undefined ? "n/a" : met ? "met" : "MISSED");
  process.stdout.write(
    `\ntargets: ratio ${targets.ratio.target}: ${ratio ?? "n/a"} (${mark(targets.ratio.met)}); ` +
      `throughput ${targets.throughput.target}: ${conveyor?.recordsPerSec.toLocaleString("en-US") ?? "n/a"} (${mark(targets.throughput.met)})\n`,
  );
  if (mtlsRatio)
    process.stdout.write(
      `mTLS on every peer hop vs plaintext (same run): throughput ${mtlsRatio.recordsPerSec}×, ` +
        `CPU per record ${mtlsRatio.cpuMicrosPerRecord}×\n`,
    );
  for (const [v, r] of Object.entries(tracingRatio))
    process.stdout.write(
      `${v} vs conveyor with tracing off (same run): throughput ${r.recordsPerSec}×, CPU per record ${r.cpuMicrosPerRecord}×\n`,
    );
  process.stdout.write(`results: ${path.relative(process.cwd(), o.out) || o.out}\n`);
  const missed =
    targets.ratio.met === false ||
    targets.throughput.met === false ||
    report.mirror?.targets.filesystemVsKcat.met === false ||
    report.mirror?.targets.kafka.met === false;
  return o.check && missed ? 1 : 0;
}

/**
 * What the transport alone allows: every record crosses `hops` gRPC hops (gen →
 * sidecar A → sidecar B → enrich → sidecar B → out for Conveyor; gen → driver →
 * enrich → driver → out for direct), each costing the measured CPU per record,
 * and the machine has `cpus` cores to spend.
 */
/**
 * The footprint figures (issue #13) from scripts/footprint.sh's "name value (details)" lines, with the
 * targets and the anchors of other sidecars beside them.
 */
function footprintSection(output: string) {
  const value = (name: string): number | undefined => {
    const m = output.match(new RegExp(`^${name} (\\d+)`, "m"));
    return m ? Number(m[1]) : undefined;
  };
  const figure = (name: string, target: number, anchor: string) => {
    const actual = value(name);
    return { actual, target, met: actual === undefined ? undefined : actual <= target, anchor };
  };
  return {
    helpMsP50: figure("help_ms_p50", 150, ""),
    routerIdleRssMiB: figure("router_idle_rss_mib", 50, "Dapr placement 25 MB"),
    sidecarIdleRssMiB: figure("sidecar_idle_rss_mib", 50, "Linkerd proxy 26 MB max; Istio sidecar ~60 MB"),
    sidecarExecToServingMsP50: figure("sidecar_exec_to_serving_ms_p50", 300, ""),
  };
}

function transportFloor(runs: HopResult[]) {
  const hop = (t: HopResult["transport"]): number =>
    round(median(runs.filter((r) => r.transport === t).map((r) => r.hopMicrosPerRecord)), 2);
  const grpcJsHopMicros = hop("grpc-js");
  const cpus = os.cpus().length;
  const ceiling = (hops: number): number => Math.round((cpus * 1e6) / (hops * grpcJsHopMicros));
  return {
    runs,
    grpcJsHopMicros,
    http2HopMicros: hop("http2"),
    cpus,
    conveyorHops: 5,
    directHops: 4,
    conveyorCeilingRecordsPerSec: ceiling(5),
    directCeilingRecordsPerSec: ceiling(4),
  };
}

/** A conveyor run's records/s over the direct run of the same repeat. */
function ratioOf(r: VariantResult, all: VariantResult[]): string {
  const d = all.find((x) => x.variant === "direct" && x.repeat === r.repeat);
  return r.variant === "conveyor" && d ? String(round(r.recordsPerSec / d.recordsPerSec, 2)) : "";
}

function summarize(variant: VariantName, runs: VariantResult[]): Summary {
  return {
    variant,
    runs: runs.length,
    recordsPerSec: Math.round(median(runs.map((r) => r.recordsPerSec))),
    steadyRecordsPerSec: Math.round(median(runs.map((r) => r.steadyRecordsPerSec))),
    p50Ms: median(runs.map((r) => r.latencyMs.p50)),
    p99Ms: median(runs.map((r) => r.latencyMs.p99)),
    cpuMicrosPerRecord: round(median(runs.map((r) => r.cpuMicrosPerRecord)), 1),
  };
}

/** The commit measured, and whether the working tree had changes (figures depend on both). */
function gitState(): { commit: string; dirtyFiles: number } | undefined {
  try {
    const run = (...args: string[]): string =>
      execFileSync("git", args, {
        cwd: path.resolve(__dirname, ".."),
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
    return {
      commit: run("rev-parse", "HEAD").trim(),
      dirtyFiles: run("status", "--porcelain").split("\n").filter(Boolean).length,
    };
  } catch {
    return undefined;
  }
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got "${v}"`);
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${v}"`);
  return n;
}

// Ctrl-C / kill: exit through process.exit so ManagedProcess kills every child.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

// `tsx bench/run.ts failover [--runs N] …` measures the failover figure instead (bench/failover.ts).
const run =
  process.argv[2] === "failover"
    ? failoverMain(process.argv.slice(3))
    : process.argv[2] === "router-failover" // kill -9 of the router-cluster leader (bench/router-failover.ts)
      ? routerFailoverMain(process.argv.slice(3))
      : process.argv[2] === "relay" // relay events/s per publisher (bench/relay.ts)
        ? relayMain(process.argv.slice(3))
        : process.argv[2] === "soak" // RSS over a long run at a fixed rate (bench/soak.ts)
          ? soakMain(process.argv.slice(3))
          : process.argv[2] === "scaling" // RSS per pipeline, per peer, per setting (bench/scaling.ts)
            ? scalingMain(process.argv.slice(3))
            : program.parseAsync(process.argv);
run.catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

/**
 * `tsx bench/run.ts scaling`: what a sidecar's memory costs per pipeline, per peer and per setting
 * (issue #13: "memory must not grow with the number of peers or pipelines beyond a stated
 * per-peer/per-pipeline cost"). Every point is its own fresh cluster of real processes on loopback
 * (the compiled CLI and the SDK sample stages, as the other benches run them), all in one run:
 *
 *   pipelines  router 127.0.50.1; pod T 127.0.50.2: the sidecar under test + gen, enrich, out (measuring
 *              sink). N pipelines `p-<i>: gen → enrich → out` (every hop local to T), each at
 *              --pipeline-rate records/s (the one generator process serves them all: its Read streams
 *              share a limit of N × rate), and, unless --no-idle, the same N with a generator that has
 *              no records (idle pipelines: routes, source runner, streams, nothing flowing).
 *   peers      pod T: the sidecar under test + gen; pods 127.0.50.3… : K peer sidecars, each with a
 *              measuring sink "out". One pipeline `gen → out` at --peer-rate records/s in total: every
 *              record takes a peer hop, split by key (64 keys, rendezvous hashing) among the K peers.
 *   settings   the bench's topology (pod A: sidecar + gen; pod B: sidecar + enrich + out) at saturation,
 *              --saturation-records records of ~1 KB, with the settings that hold memory set low vs
 *              default: maxInFlightBytes, maxInFlightRecords, NODE_OPTIONS=--max-semi-space-size=1 on
 *              both sidecars, and the two together. RSS of both sidecars and records/s, same run.
 *
 * For pipelines and peers: once records flow (idle: once the router shows every pipeline ready), wait
 * --warmup-secs, then sample the tested sidecar's VmRSS every second for --sample-secs and take the
 * median; scrape its /metrics once at the end (JS heap used/total, external memory, series count).
 * MiB per pipeline and per peer are the slopes of least-squares lines through the medians.
 *
 *   tsx bench/run.ts scaling [--quick] [--parts pipelines,peers,settings] [--pipelines 1,8,32]
 *                            [--pipeline-rate 20] [--no-idle] [--peers 1,2,4] [--peer-rate 1000]
 *                            [--warmup-secs 20] [--sample-secs 20] [--saturation-records 300000]
 *                            [--settings default,in-flight-bytes-1m,…] [--quiet-wait 60] [--keep]
 *                            [--tested-node-options=--max-semi-space-size=1]
 *                            [--out bench/results/scaling.json]
 *
 * --quick: warm-up 8 s, samples 10 s, no idle pipelines, 100,000 records at saturation, three settings.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, Option } from "commander";
import { AdminApi, applyPipeline } from "../src/cli/admin-client";
import { LocalCluster } from "../src/cluster/local-cluster";
import type { ManagedProcess } from "../src/cluster/managed-process";
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import { freePortBlock } from "../e2e/harness/ports";
import { fetchMetrics } from "../e2e/harness/metrics";
import { rssFigures } from "./soak";
import {
  formatTable,
  linearFit,
  measureRun,
  median,
  readPeakRssMiB,
  readProcCpu,
  readRssMiB,
  readSinkStats,
  round,
  sleep,
  waitForQuietMachine,
  type NamedProcess,
  type VariantOptions,
} from "./stats";

const RESULTS_DIR = path.resolve(__dirname, "results");
const ROUTER_HOST = "127.0.50.1";
const POD_T = "127.0.50.2";
/** Peer pod k (0-based): 127.0.50.3, .4, … */
const peerHost = (k: number): string => `127.0.50.${3 + k}`;
const PAYLOAD_BYTES = 1000;
/** Ports from a free block: router, sidecar, three stage services (the discovery range), metrics. */
const PORTS = { router: 0, sidecar: 1, firstService: 2, lastService: 4, metrics: 5, count: 6 } as const;

const PARTS = ["pipelines", "peers", "settings"] as const;
type Part = (typeof PARTS)[number];

/** The settings variants at saturation: pipeline settings and the sidecars' NODE_OPTIONS. */
const SETTINGS_VARIANTS = {
  default: { settings: {}, nodeOptions: undefined },
  "in-flight-bytes-1m": { settings: { maxInFlightBytes: 1024 * 1024 }, nodeOptions: undefined },
  "in-flight-records-1000": { settings: { maxInFlightRecords: 1000 }, nodeOptions: undefined },
  "semi-space-1": { settings: {}, nodeOptions: "--max-semi-space-size=1" },
  "low-both": { settings: { maxInFlightBytes: 1024 * 1024 }, nodeOptions: "--max-semi-space-size=1" },
} as const satisfies {
  [name: string]: { settings: { [field: string]: number }; nodeOptions: string | undefined };
};
type SettingsVariant = keyof typeof SETTINGS_VARIANTS;
const FULL_SETTINGS: SettingsVariant[] = [
  "default",
  "in-flight-bytes-1m",
  "in-flight-records-1000",
  "semi-space-1",
  "low-both",
];
const QUICK_SETTINGS: SettingsVariant[] = ["default", "in-flight-bytes-1m", "semi-space-1"];

/** What the tested sidecar's own /metrics says (prom-client's default process metrics), in MiB. */
export interface MetricsSnapshot {
  rssMiB?: number;
  heapUsedMiB?: number;
  heapTotalMiB?: number;
  externalMiB?: number;
  /** Lines of samples on /metrics (every label set of every metric). */
  series: number;
}

export interface SteadyPoint {
  /** Pipelines (pipelines part) or peers (peers part). */
  n: number;
  mode: "loaded" | "idle" | "peers";
  /** Records/s the sources were limited to, all together. */
  targetRate: number;
  /** Records/s counted at the sinks during the sample window. */
  deliveredRate: number;
  rssMiB: { median: number; min: number; max: number; samples: number };
  peakRssMiB?: number;
  /** CPU of the tested sidecar during the sample window, in cores. */
  vcpu: number;
  metrics?: MetricsSnapshot;
  otherLoadAtStart: number;
}

export interface Fit {
  mode: SteadyPoint["mode"];
  /** MiB per added pipeline or peer. */
  slopeMiB: number;
  interceptMiB: number;
  r2: number;
  /** The same line through the JS heap used (from /metrics), MiB. */
  heapSlopeMiB?: number;
}

export interface SettingsRun {
  variant: SettingsVariant;
  settings: { [field: string]: number };
  nodeOptions?: string;
  records: number;
  received: number;
  recordsPerSec: number;
  steadyRecordsPerSec: number;
  cpuMicrosPerRecord: number;
  otherLoad: number;
  /** Per sidecar: median VmRSS after the first quarter of the flow, its max, and VmHWM at the end. */
  sidecars: Array<{ process: string; medianRssMiB: number; maxRssMiB: number; peakRssMiB?: number }>;
  /** Against the default run of the same scaling run. */
  vsDefault?: { sidecarBMiB: number; sidecarAMiB: number; throughputRatio: number; cpuRatio: number };
}

interface Options {
  quick: boolean;
  parts: Part[];
  pipelines: number[];
  pipelineRate: number;
  idle: boolean;
  peers: number[];
  peerRate: number;
  warmupSecs: number;
  sampleSecs: number;
  saturationRecords: number;
  settings: SettingsVariant[];
  quietWait: number;
  /** NODE_OPTIONS of the sidecar under test in the pipelines and peers parts (default: none). */
  testedNodeOptions?: string;
  keep: boolean;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const list = (v: string): number[] => v.split(",").map((x) => positiveInt(x.trim()));
  const program = new Command("scaling")
    .description("sidecar RSS per pipeline, per peer and per memory setting (issue #13)")
    .option("--quick", "warm-up 8 s, samples 10 s, no idle pipelines, 100k records, three settings", false)
    .addOption(
      new Option("--parts <list>", `which parts, comma-separated (${PARTS.join(",")})`).default(
        PARTS.join(","),
      ),
    )
    .addOption(new Option("--pipelines <list>", "pipeline counts").default("1,8,32"))
    .addOption(new Option("--pipeline-rate <n>", "records/s per pipeline").default("20"))
    .option("--no-idle", "skip the idle pipelines (a generator without records)")
    .addOption(new Option("--peers <list>", "peer counts").default("1,2,4"))
    .addOption(new Option("--peer-rate <n>", "records/s in total, split among the peers").default("1000"))
    .addOption(new Option("--warmup-secs <s>", "after records flow, before sampling (default 20; quick 8)"))
    .addOption(new Option("--sample-secs <s>", "RSS sampled every second this long (default 20; quick 10)"))
    .addOption(
      new Option("--saturation-records <n>", "records per settings run (default 300000; quick 100000)"),
    )
    .addOption(
      new Option(
        "--settings <list>",
        `settings variants (${Object.keys(SETTINGS_VARIANTS).join(",")}; default all, quick ${QUICK_SETTINGS.join(",")})`,
      ),
    )
    .addOption(
      new Option(
        "--quiet-wait <secs>",
        "before each point, wait up to this long for the machine to be < 25% busy",
      ).default("60"),
    )
    .option(
      "--tested-node-options <opts>",
      "NODE_OPTIONS of the sidecar under test in the pipelines and peers parts (e.g. =--max-semi-space-size=1)",
    )
    .option("--keep", "keep the work directory (every process's log)", false)
    .addOption(new Option("--out <file>", "JSON results").default(path.join(RESULTS_DIR, "scaling.json")));
  program.parse(argv, { from: "user" });
  const o = program.opts<{
    quick: boolean;
    parts: string;
    pipelines: string;
    pipelineRate: string;
    idle: boolean;
    peers: string;
    peerRate: string;
    warmupSecs?: string;
    sampleSecs?: string;
    saturationRecords?: string;
    settings?: string;
    quietWait: string;
    testedNodeOptions?: string;
    keep: boolean;
    out: string;
  }>();
  const parts = o.parts.split(",").map((p) => p.trim()) as Part[];
  for (const p of parts) if (!PARTS.includes(p)) throw new Error(`scaling: unknown part "${p}"`);
  const settings = (o.settings?.split(",").map((s) => s.trim()) ??
    (o.quick ? QUICK_SETTINGS : FULL_SETTINGS)) as SettingsVariant[];
  for (const s of settings)
    if (!(s in SETTINGS_VARIANTS)) throw new Error(`scaling: unknown settings variant "${s}"`);
  if (!settings.includes("default")) settings.unshift("default");
  return {
    quick: o.quick,
    parts,
    pipelines: list(o.pipelines),
    pipelineRate: positiveInt(o.pipelineRate),
    idle: o.idle && !o.quick,
    peers: list(o.peers),
    peerRate: positiveInt(o.peerRate),
    warmupSecs: positiveInt(o.warmupSecs ?? (o.quick ? "8" : "20")),
    sampleSecs: positiveInt(o.sampleSecs ?? (o.quick ? "10" : "20")),
    saturationRecords: positiveInt(o.saturationRecords ?? (o.quick ? "100000" : "300000")),
    settings,
    quietWait: Number(o.quietWait),
    testedNodeOptions: o.testedNodeOptions,
    keep: o.keep,
    out: o.out,
  };
}

export async function main(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-scaling-"));
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn" };
  // The bench's own NODE_OPTIONS (tsx) must not reach the children; each variant sets its own.
  delete env.NODE_OPTIONS;
  const started = new Date();
  const loadAverageAtStart = os.loadavg().map((l) => round(l, 2));
  if (process.env.NODE_OPTIONS)
    say(`scaling: NODE_OPTIONS=${process.env.NODE_OPTIONS} is not passed on (each variant sets its own)`);
  say(
    `scaling: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), node ${process.version}, load average ` +
      `${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; work dir ${workDir}`,
  );
  const quiet = async (): Promise<number> =>
    o.quietWait > 0 ? waitForQuietMachine(o.quietWait * 1000, 0.25, say) : 0;

  const points: SteadyPoint[] = [];
  const settingsRuns: SettingsRun[] = [];
  let step = 0;
  const dirFor = (name: string): string => {
    const dir = path.join(workDir, `${String(++step).padStart(2, "0")}-${name}`);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  try {
    if (o.parts.includes("pipelines")) {
      for (const mode of o.idle ? (["loaded", "idle"] as const) : (["loaded"] as const)) {
        for (const n of o.pipelines) {
          say(
            `scaling: ${n} pipeline(s), ${mode === "loaded" ? `${o.pipelineRate} records/s each` : "idle"}`,
          );
          const otherLoad = await quiet();
          const p = await pipelinesPoint(n, mode, o, dirFor(`pipelines-${mode}-${n}`), env, say);
          points.push({ ...p, otherLoadAtStart: otherLoad });
          say(describePoint(points[points.length - 1]!));
        }
      }
    }
    if (o.parts.includes("peers")) {
      for (const k of o.peers) {
        say(`scaling: ${k} peer(s), ${o.peerRate} records/s in total`);
        const otherLoad = await quiet();
        const p = await peersPoint(k, o, dirFor(`peers-${k}`), env, say);
        points.push({ ...p, otherLoadAtStart: otherLoad });
        say(describePoint(points[points.length - 1]!));
      }
    }
    if (o.parts.includes("settings")) {
      for (const variant of o.settings) {
        say(
          `scaling: saturation, ${o.saturationRecords.toLocaleString("en-US")} records, settings ${variant}`,
        );
        await quiet();
        const r = await settingsRun(variant, o, dirFor(`settings-${variant}`), env, say);
        settingsRuns.push(r);
        say(
          `  ${variant}: ${r.steadyRecordsPerSec.toLocaleString("en-US")} records/s; ` +
            r.sidecars
              .map((s) => `${s.process} RSS median ${s.medianRssMiB} MiB, max ${s.maxRssMiB}`)
              .join("; ") +
            `; other work ${Math.round(r.otherLoad * 100)}%`,
        );
      }
    }
  } catch (err) {
    say(`scaling: failed; logs kept in ${workDir}`);
    throw err;
  }

  const fits = (["loaded", "idle", "peers"] as const).flatMap((mode): Fit[] => {
    const ps = points.filter((p) => p.mode === mode);
    if (new Set(ps.map((p) => p.n)).size < 2) return [];
    const fit = linearFit(
      ps.map((p) => p.n),
      ps.map((p) => p.rssMiB.median),
    );
    const withHeap = ps.filter((p) => p.metrics?.heapUsedMiB !== undefined);
    const heap =
      withHeap.length === ps.length
        ? linearFit(
            withHeap.map((p) => p.n),
            withHeap.map((p) => p.metrics!.heapUsedMiB!),
          )
        : undefined;
    return [
      {
        mode,
        slopeMiB: round(fit.slope, 2),
        interceptMiB: round(fit.intercept, 1),
        r2: round(fit.r2, 3),
        heapSlopeMiB: heap ? round(heap.slope, 2) : undefined,
      },
    ];
  });
  const base = settingsRuns.find((r) => r.variant === "default");
  for (const r of settingsRuns) {
    if (!base || r === base) continue;
    const rss = (run: SettingsRun, name: string): number =>
      run.sidecars.find((s) => s.process === name)?.medianRssMiB ?? NaN;
    r.vsDefault = {
      sidecarAMiB: round(rss(r, "sidecar A") - rss(base, "sidecar A"), 1),
      sidecarBMiB: round(rss(r, "sidecar B") - rss(base, "sidecar B"), 1),
      throughputRatio: round(r.steadyRecordsPerSec / base.steadyRecordsPerSec, 2),
      cpuRatio: round(r.cpuMicrosPerRecord / base.cpuMicrosPerRecord, 2),
    };
  }

  const report = {
    timestamp: started.toISOString(),
    environment: {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg().map((l) => round(l, 2)),
    },
    options: o,
    points,
    fits,
    settings: settingsRuns,
  };
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
  if (!o.keep) fs.rmSync(workDir, { recursive: true, force: true });

  const rows = points.map((p) => [
    p.mode === "peers" ? `${p.n} peer(s)` : `${p.n} pipeline(s), ${p.mode}`,
    p.targetRate,
    Math.round(p.deliveredRate),
    p.rssMiB.median,
    `${p.rssMiB.min}–${p.rssMiB.max}`,
    p.metrics?.heapUsedMiB ?? "—",
    p.metrics?.externalMiB ?? "—",
    p.metrics?.series ?? "—",
    p.vcpu,
    `${Math.round(p.otherLoadAtStart * 100)}%`,
  ]);
  process.stdout.write(
    `\n${formatTable(
      [
        "point",
        "target rec/s",
        "rec/s",
        "RSS MiB (median)",
        "range",
        "heap used",
        "external",
        "series",
        "vCPU",
        "other load",
      ],
      rows,
    )}\n\n`,
  );
  for (const f of fits)
    process.stdout.write(
      `${f.mode === "peers" ? "per peer" : `per pipeline (${f.mode})`}: ${f.slopeMiB} MiB each, intercept ${f.interceptMiB} MiB ` +
        `(r² ${f.r2}; JS heap used ${f.heapSlopeMiB ?? "?"} MiB each)\n`,
    );
  if (settingsRuns.length > 0)
    process.stdout.write(
      `\n${formatTable(
        [
          "settings",
          "records/s",
          "sidecar A RSS",
          "sidecar B RSS",
          "B max",
          "Δ A",
          "Δ B",
          "throughput ×",
          "CPU/rec ×",
          "other load",
        ],
        settingsRuns.map((r) => [
          r.variant,
          r.steadyRecordsPerSec,
          r.sidecars[0]?.medianRssMiB ?? "—",
          r.sidecars[1]?.medianRssMiB ?? "—",
          r.sidecars[1]?.maxRssMiB ?? "—",
          r.vsDefault?.sidecarAMiB ?? "",
          r.vsDefault?.sidecarBMiB ?? "",
          r.vsDefault?.throughputRatio ?? "",
          r.vsDefault?.cpuRatio ?? "",
          `${Math.round(r.otherLoad * 100)}%`,
        ]),
      )}\n`,
    );
  process.stdout.write(`results: ${path.relative(process.cwd(), o.out) || o.out}\n`);
}

function describePoint(p: SteadyPoint): string {
  return (
    `  RSS median ${p.rssMiB.median} MiB (${p.rssMiB.min}–${p.rssMiB.max}, ${p.rssMiB.samples} samples), ` +
    `heap used ${p.metrics?.heapUsedMiB ?? "?"} MiB, ${Math.round(p.deliveredRate)} records/s delivered ` +
    `(target ${p.targetRate}), ${p.vcpu} vCPU`
  );
}

function pipelineYaml(name: string, steps: string[]): string {
  return `name: ${name}\nsource: { stage: gen }\nsteps: [ ${steps.map((s) => `{ stage: ${s} }`).join(", ")} ]\nsink: { stage: out }\n`;
}

/** N pipelines gen → enrich → out, every stage in pod T. */
async function pipelinesPoint(
  n: number,
  mode: "loaded" | "idle",
  o: Options,
  dir: string,
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
): Promise<Omit<SteadyPoint, "otherLoadAtStart">> {
  const cluster = new LocalCluster(path.join(dir, "logs"), env);
  try {
    const base = await freePortBlock([ROUTER_HOST, POD_T], PORTS.count);
    const router = `${ROUTER_HOST}:${base + PORTS.router}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base + PORTS.router, heartbeatIntervalSecs: 1 });
    const svc = (i: number): number => base + PORTS.firstService + i;
    await cluster.startStage({ kind: "transform", name: "enrich", host: POD_T, port: svc(1) });
    const statsFile = path.join(dir, "sink-stats.json");
    await cluster.startStage({ kind: "sink", name: "out", host: POD_T, port: svc(2), statsFile });
    const tested = await startTested(cluster, base, router, o.testedNodeOptions);
    const source = await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_T,
      port: svc(0),
      payloadBytes: PAYLOAD_BYTES,
      ...(mode === "loaded" ? { rate: n * o.pipelineRate } : { count: 0 }),
    });
    const names = Array.from({ length: n }, (_, i) => `p-${i + 1}`);
    for (const name of names) await applyPipeline(router, pipelineYaml(name, ["enrich"]));
    const watch = [tested, source.process];
    await waitForReady(router, names, watch);
    if (mode === "loaded") await waitForFlow(base, names, "out", watch);
    say(`  ${n} pipeline(s) ${mode === "loaded" ? "flowing" : "ready"}; warm-up ${o.warmupSecs} s`);
    const point = await sampleSteady(tested, base, o, [statsFile], watch);
    return { ...point, n, mode, targetRate: mode === "loaded" ? n * o.pipelineRate : 0 };
  } finally {
    await cluster.stopAll();
  }
}

/** One pipeline gen → out: gen in pod T, the sink in K peer pods. */
async function peersPoint(
  k: number,
  o: Options,
  dir: string,
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
): Promise<Omit<SteadyPoint, "otherLoadAtStart">> {
  const cluster = new LocalCluster(path.join(dir, "logs"), env);
  try {
    const peers = Array.from({ length: k }, (_, i) => peerHost(i));
    const base = await freePortBlock([ROUTER_HOST, POD_T, ...peers], PORTS.count);
    const router = `${ROUTER_HOST}:${base + PORTS.router}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base + PORTS.router, heartbeatIntervalSecs: 1 });
    const statsFiles: string[] = [];
    const watch: ManagedProcess[] = [];
    for (const [i, host] of peers.entries()) {
      const statsFile = path.join(dir, `sink-stats-${i}.json`);
      statsFiles.push(statsFile);
      await cluster.startStage({
        kind: "sink",
        name: "out",
        host,
        port: base + PORTS.firstService,
        statsFile,
      });
      const peer = await cluster.startSidecar({
        id: `peer-${i + 1}`,
        host,
        port: base + PORTS.sidecar,
        router,
        discoveryStartPort: base + PORTS.firstService,
        discoveryEndPort: base + PORTS.lastService,
      });
      watch.push(peer.process);
    }
    const tested = await startTested(cluster, base, router, o.testedNodeOptions);
    const source = await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_T,
      port: base + PORTS.firstService,
      payloadBytes: PAYLOAD_BYTES,
      rate: o.peerRate,
    });
    watch.push(tested, source.process);
    await applyPipeline(router, pipelineYaml("fanout", []));
    await waitForReady(router, ["fanout"], watch);
    // Every peer's sink gets records (64 keys over K peers by rendezvous hashing).
    await waitUntil(
      () => statsFiles.every((f) => (readSinkStats(f)?.count ?? 0) > 0),
      60_000,
      () =>
        `records at every peer's sink (counts ${statsFiles.map((f) => readSinkStats(f)?.count ?? 0).join(", ")})`,
      watch,
    );
    say(`  records reach all ${k} peer(s); warm-up ${o.warmupSecs} s`);
    const point = await sampleSteady(tested, base, o, statsFiles, watch);
    return { ...point, n: k, mode: "peers", targetRate: o.peerRate };
  } finally {
    await cluster.stopAll();
  }
}

/** The sidecar under test, in pod T, with /metrics on. */
async function startTested(
  cluster: LocalCluster,
  base: number,
  router: string,
  nodeOptions: string | undefined,
): Promise<ManagedProcess> {
  const s = await cluster.startSidecar({
    ...(nodeOptions ? { env: { NODE_OPTIONS: nodeOptions } } : {}),
    id: "tested",
    host: POD_T,
    port: base + PORTS.sidecar,
    router,
    discoveryStartPort: base + PORTS.firstService,
    discoveryEndPort: base + PORTS.lastService,
    metricsPort: base + PORTS.metrics,
  });
  return s.process;
}

/** Warm-up, then VmRSS of the tested sidecar every second; records/s at the sinks; /metrics at the end. */
async function sampleSteady(
  tested: ManagedProcess,
  base: number,
  o: Options,
  statsFiles: string[],
  watch: ManagedProcess[],
): Promise<Omit<SteadyPoint, "n" | "mode" | "targetRate" | "otherLoadAtStart">> {
  await sleepWatching(o.warmupSecs * 1000, watch);
  const count = (): number => statsFiles.reduce((s, f) => s + (readSinkStats(f)?.count ?? 0), 0);
  const cpu = (): number => {
    const c = readProcCpu(tested.pid);
    return c ? c.user + c.system : 0;
  };
  const count0 = count();
  const cpu0 = cpu();
  const t0 = Date.now();
  const rss: number[] = [];
  for (let i = 0; i < o.sampleSecs; i++) {
    await sleepWatching(1000, watch);
    const r = readRssMiB(tested.pid);
    if (r !== undefined) rss.push(r);
  }
  const secs = (Date.now() - t0) / 1000;
  const deliveredRate = (count() - count0) / secs;
  const vcpu = round((cpu() - cpu0) / secs, 3);
  const peakRssMiB = readPeakRssMiB(tested.pid);
  const metrics = await scrapeMemory(`http://${POD_T}:${base + PORTS.metrics}/metrics`);
  if (rss.length === 0) throw new Error("scaling: no RSS samples of the tested sidecar");
  return {
    deliveredRate: round(deliveredRate, 1),
    rssMiB: {
      median: round(median(rss), 1),
      min: Math.min(...rss),
      max: Math.max(...rss),
      samples: rss.length,
    },
    peakRssMiB,
    vcpu,
    metrics,
  };
}

/** prom-client's process and heap gauges (whatever prefix they carry), in MiB; undefined when unreachable. */
export function memoryFromMetrics(text: string): MetricsSnapshot {
  const value = (suffix: string): number | undefined => {
    const m = text.match(new RegExp(`^\\w*${suffix}(?:\\{[^}]*\\})? (\\S+)$`, "m"));
    return m ? round(Number(m[1]) / 2 ** 20, 1) : undefined;
  };
  return {
    rssMiB: value("process_resident_memory_bytes"),
    heapUsedMiB: value("nodejs_heap_size_used_bytes"),
    heapTotalMiB: value("nodejs_heap_size_total_bytes"),
    externalMiB: value("nodejs_external_memory_bytes"),
    series: text.split("\n").filter((l) => l.length > 0 && !l.startsWith("#")).length,
  };
}

async function scrapeMemory(url: string): Promise<MetricsSnapshot | undefined> {
  try {
    return memoryFromMetrics(await fetchMetrics(url));
  } catch {
    return undefined;
  }
}

/** Until the router lists every pipeline as ready (every stage placed). */
async function waitForReady(router: string, names: string[], watch: ManagedProcess[]): Promise<void> {
  const api = new AdminApi(router);
  try {
    let notReady: string[] = names;
    await waitUntil(
      async () => {
        const listed = await api.listPipelines();
        const ready = new Set(listed.pipelines.filter((p) => p.state === "ready").map((p) => p.name));
        notReady = names.filter((n) => !ready.has(n));
        return notReady.length === 0;
      },
      60_000,
      () =>
        `pipelines ready (not yet: ${notReady.slice(0, 5).join(", ")}${notReady.length > 5 ? ", …" : ""})`,
      watch,
    );
  } finally {
    api.close();
  }
}

/** Until the tested sidecar's /metrics shows records out of `sink` for every pipeline. */
async function waitForFlow(
  base: number,
  names: string[],
  sink: string,
  watch: ManagedProcess[],
): Promise<void> {
  const url = `http://${POD_T}:${base + PORTS.metrics}/metrics`;
  let missing = names.length;
  await waitUntil(
    async () => {
      const text = await fetchMetrics(url).catch(() => "");
      const flowing = new Set<string>();
      for (const line of text.split("\n")) {
        if (!line.startsWith("conveyor_stage_records_out_total{") || !line.includes(`stage="${sink}"`))
          continue;
        const p = /pipeline="([^"]*)"/.exec(line)?.[1];
        if (p && Number(line.slice(line.lastIndexOf(" ") + 1)) > 0) flowing.add(p);
      }
      missing = names.filter((n) => !flowing.has(n)).length;
      return missing === 0;
    },
    90_000,
    () => `records at the sink of every pipeline (${missing} of ${names.length} without)`,
    watch,
  );
}

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: () => string,
  watch: ManagedProcess[],
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`scaling: timed out after ${timeoutMs} ms waiting for ${what()}`);
    await sleepWatching(250, watch);
  }
}

async function sleepWatching(ms: number, watch: ManagedProcess[]): Promise<void> {
  await sleep(ms);
  const dead = watch.find((p) => !p.running);
  if (dead) throw new Error(`${dead.name} exited; last output:\n${dead.output().slice(-3000)}`);
}

/** The bench topology at saturation with one settings variant. */
async function settingsRun(
  variant: SettingsVariant,
  o: Options,
  dir: string,
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
): Promise<SettingsRun> {
  const v = SETTINGS_VARIANTS[variant];
  const podA = POD_T;
  const podB = peerHost(0);
  const cluster = new LocalCluster(path.join(dir, "logs"), env);
  try {
    const base = await freePortBlock([ROUTER_HOST, podA, podB], PORTS.count);
    const router = `${ROUTER_HOST}:${base + PORTS.router}`;
    const svc = (i: number): number => base + PORTS.firstService + i;
    const sidecarEnv = v.nodeOptions ? { NODE_OPTIONS: v.nodeOptions } : {};
    const routerProc = await cluster.startRouter({
      host: ROUTER_HOST,
      port: base + PORTS.router,
      heartbeatIntervalSecs: 1,
    });
    const transform = await cluster.startStage({
      kind: "transform",
      name: "enrich",
      host: podB,
      port: svc(0),
    });
    const statsFile = path.join(dir, "sink-stats.json");
    const warmupRecords = Math.floor(o.saturationRecords / 10);
    const sink = await cluster.startStage({
      kind: "sink",
      name: "out",
      host: podB,
      port: svc(1),
      statsFile,
      statsWarmupRecords: warmupRecords,
    });
    const sidecar = (id: string, host: string) =>
      cluster.startSidecar({
        id,
        host,
        port: base + PORTS.sidecar,
        router,
        discoveryStartPort: svc(0),
        discoveryEndPort: base + PORTS.lastService,
        env: sidecarEnv,
      });
    const sidecarA = await sidecar("bench-a", podA);
    const sidecarB = await sidecar("bench-b", podB);
    const fields = Object.entries(v.settings).map(([k, n]) => `${k}: ${n}`);
    await applyPipeline(
      router,
      `${pipelineYaml("bench", ["enrich"])}${fields.length ? `settings: { ${fields.join(", ")} }\n` : ""}`,
    );
    // The source comes last, as in bench/conveyor.ts: sidecar A finds it on its next scan.
    const source = await cluster.startStage({
      kind: "source",
      name: "gen",
      host: podA,
      port: svc(0),
      count: o.saturationRecords,
      payloadBytes: PAYLOAD_BYTES,
    });
    const procs: NamedProcess[] = [
      { name: "source (gen)", process: source.process },
      { name: "transform (enrich)", process: transform.process },
      { name: "sink (measuring)", process: sink.process },
      { name: "sidecar A", process: sidecarA.process },
      { name: "sidecar B", process: sidecarB.process },
      { name: "router", process: routerProc.process },
    ];
    const vo: VariantOptions = {
      records: o.saturationRecords,
      payloadBytes: PAYLOAD_BYTES,
      batchSize: DEFAULT_SETTINGS.batchSize,
      inFlightRecords: DEFAULT_SETTINGS.maxInFlightRecords,
      warmupRecords,
      dir,
      env,
      stallMs: 30_000,
      rssEveryMs: 500,
      log: say,
    };
    const r = await measureRun(
      "conveyor",
      1,
      vo,
      procs,
      statsFile,
      () => undefined,
      () => cluster.stopAll(),
    );
    const timeline = r.rssTimeline ?? [];
    const lastMs = timeline[timeline.length - 1]?.atMs ?? 0;
    return {
      variant,
      settings: v.settings,
      nodeOptions: v.nodeOptions,
      records: r.records,
      received: r.received,
      recordsPerSec: r.recordsPerSec,
      steadyRecordsPerSec: r.steadyRecordsPerSec,
      cpuMicrosPerRecord: r.cpuMicrosPerRecord,
      otherLoad: r.contention.otherShare,
      sidecars: (["sidecar A", "sidecar B"] as const).map((name) => {
        // The first quarter of the flow is the warm-up (semi-spaces and windows growing).
        const f = rssFigures(timeline, name, lastMs / 4);
        return {
          process: name,
          medianRssMiB: round(f.medianRssMiB, 1),
          maxRssMiB: f.maxRssMiB,
          peakRssMiB: r.cpu.find((c) => c.process === name)?.peakRssMiB,
        };
      }),
    };
  } finally {
    await cluster.stopAll();
  }
}

function positiveInt(v: string): number {
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${v}"`);
  return n;
}

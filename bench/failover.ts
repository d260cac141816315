/**
 * The failover figure of issue #4: time from kill -9 of the sidecar that runs
 * a source to the first record flowing through the new assignee.
 *
 *   router 127.0.23.1 (HEARTBEAT_INTERVAL --heartbeat-interval-secs, dead after 3 missed)
 *   pod A 127.0.23.2: sidecar a + generator "gen" (ids gen-a-<i>)  ┐ two candidates for the
 *   pod B 127.0.23.3: sidecar b + generator "gen" (ids gen-b-<i>)  ┘ same source service
 *   pod C 127.0.23.4: sidecar c + enrich + NDJSON sink "out"
 *
 * Each run kills the current owner of "gen", then measures from the kill:
 *   - reassigned: the router's ListAssignments shows "gen" on the other sidecar;
 *   - first read: eventTimeMs of the first record of the new owner's generator
 *     (the generator stamps it when it reads the record);
 *   - first at sink: when that record was seen in the sink file (polled every 10 ms).
 * The killed sidecar is restarted before the next run, so runs alternate A → B → A.
 *
 *   tsx bench/failover.ts [--runs N] [--heartbeat-interval-secs S] [--out FILE]
 *   (or: tsx bench/run.ts failover …)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, Option } from "commander";
import { LocalCluster, type SidecarSpec } from "../src/cluster/local-cluster";
import type { ManagedProcess } from "../src/cluster/managed-process";
import type { AdminClient } from "../src/generated/conveyor/v1/Admin";
import { freePortBlock } from "../e2e/harness/ports";
import { adminClient, applyPipeline, countLines, eventually, listAssignments } from "../e2e/harness/pipeline";
import { median } from "./stats";

const ROUTER_HOST = "127.0.23.1";
const PODS = { a: "127.0.23.2", b: "127.0.23.3", c: "127.0.23.4" } as const;
const RESULTS_DIR = path.resolve(__dirname, "results");
const DEAD_AFTER_MISSED = 3;

const PIPELINE = `name: failover
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

export interface FailoverRun {
  run: number;
  killed: string;
  newOwner: string;
  reassignedMs: number;
  firstReadMs: number;
  firstAtSinkMs: number;
}

interface Options {
  runs: number;
  heartbeatIntervalSecs: number;
  rate: number;
  out: string;
  keep: boolean;
}

export async function measureFailover(o: Options, say: (line: string) => void): Promise<FailoverRun[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-failover-"));
  const cluster = new LocalCluster(dir, { LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info" });
  let client: AdminClient | undefined;
  const runs: FailoverRun[] = [];
  let ok = false;
  try {
    const base = await freePortBlock([ROUTER_HOST, ...Object.values(PODS)], 6);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({
      host: ROUTER_HOST,
      port: base,
      heartbeatIntervalSecs: o.heartbeatIntervalSecs,
      deadAfterMissed: DEAD_AFTER_MISSED,
    });
    const admin = adminClient(router);
    client = admin;
    await applyPipeline(admin, PIPELINE);
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 5, discoveryIntervalSecs: 1 };
    for (const id of ["a", "b"] as const) {
      await cluster.startStage({
        kind: "source",
        name: "gen",
        host: PODS[id],
        port: base + 2,
        rate: o.rate,
        payloadBytes: 200,
        idPrefix: `gen-${id}`,
      });
    }
    await cluster.startStage({ kind: "transform", name: "enrich", host: PODS.c, port: base + 2 });
    await cluster.startStage({ kind: "sink", name: "out", host: PODS.c, port: base + 3, dir, fsync: false });
    const spec = (id: "a" | "b" | "c"): SidecarSpec => ({
      id,
      host: PODS[id],
      port: base + 1,
      router,
      heartbeatIntervalSecs: o.heartbeatIntervalSecs,
      shutdownGraceSecs: 2,
      ...discovery,
    });
    const sidecars: { [id: string]: ManagedProcess } = {};
    for (const id of ["c", "a", "b"] as const) sidecars[id] = (await cluster.startSidecar(spec(id))).process;

    const sinkFile = path.join(dir, "out.ndjson");
    const owner = async (): Promise<string | undefined> =>
      (await listAssignments(admin, "failover")).find((a) => a.stage === "gen")?.sidecarId;
    await eventually(
      () => countLines(sinkFile) >= 1000,
      60_000,
      () => "no records reached the sink",
    );

    for (let run = 1; run <= o.runs; run++) {
      const killed = await owner();
      if (killed !== "a" && killed !== "b") throw new Error(`"gen" runs on ${killed ?? "no sidecar"}`);
      const next = killed === "a" ? "b" : "a";
      // Steady flow through the current owner before the kill.
      const before = countLines(sinkFile);
      await eventually(
        () => countLines(sinkFile) >= before + o.rate,
        30_000,
        () => "the flow is not steady",
      );

      const offset = fs.statSync(sinkFile).size;
      const killedAt = Date.now();
      sidecars[killed]!.kill("SIGKILL");
      let reassignedMs = -1;
      let first: { readAt: number; seenAt: number } | undefined;
      const watchSink = (async () => {
        const needle = `{"id":"gen-${next}-`;
        let pos = offset;
        let pending = "";
        while (first === undefined) {
          if (Date.now() - killedAt > 120_000) throw new Error(`no record from ${next} within 120 s`);
          const size = fs.statSync(sinkFile).size;
          if (size > pos) {
            const fd = fs.openSync(sinkFile, "r");
            const buf = Buffer.alloc(size - pos);
            fs.readSync(fd, buf, 0, buf.length, pos);
            fs.closeSync(fd);
            pos = size;
            pending += buf.toString("utf8");
            const lines = pending.split("\n");
            pending = lines.pop() ?? "";
            const line = lines.find((l) => l.startsWith(needle));
            if (line) {
              const seenAt = Date.now();
              first = { readAt: (JSON.parse(line) as { eventTimeMs: number }).eventTimeMs, seenAt };
              break;
            }
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const watchRouter = (async () => {
        for (;;) {
          if (Date.now() - killedAt > 120_000) throw new Error(`"gen" not reassigned within 120 s`);
          const o2 = await owner().catch(() => undefined);
          if (o2 === next) {
            reassignedMs = Date.now() - killedAt;
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await Promise.all([watchSink, watchRouter]);
      const r: FailoverRun = {
        run,
        killed,
        newOwner: next,
        reassignedMs,
        firstReadMs: first!.readAt - killedAt,
        firstAtSinkMs: first!.seenAt - killedAt,
      };
      runs.push(r);
      say(
        `failover: run ${run}: kill -9 sidecar ${killed} → reassigned to ${next} after ${r.reassignedMs} ms, ` +
          `first record read ${r.firstReadMs} ms, first at the sink ${r.firstAtSinkMs} ms after the kill`,
      );
      // The killed sidecar comes back (it is not the owner any more: the source is sticky).
      sidecars[killed] = (await cluster.startSidecar(spec(killed))).process;
    }
    ok = true;
    return runs;
  } finally {
    client?.close();
    await cluster.stopAll(5000);
    if (o.keep || !ok) say(`failover: logs kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command("failover")
    .description("time from kill -9 of a source's sidecar to the first record through the new assignee")
    .addOption(new Option("--runs <n>", "failovers to measure").default(5).argParser(Number))
    .addOption(
      new Option("--heartbeat-interval-secs <s>", "HEARTBEAT_INTERVAL of the router and sidecars")
        .default(1)
        .argParser(Number),
    )
    .addOption(new Option("--rate <n>", "records/s of each generator").default(2000).argParser(Number))
    .option("--out <file>", "JSON result file", path.join(RESULTS_DIR, "failover-latest.json"))
    .option("--keep", "keep the work directory (logs)", false)
    .action(async (o: Options) => {
      const say = (line: string): void => void process.stderr.write(`${line}\n`);
      say(
        `failover: ${o.runs} runs, heartbeat ${o.heartbeatIntervalSecs} s, dead after ${DEAD_AFTER_MISSED} missed ` +
          `(${DEAD_AFTER_MISSED * o.heartbeatIntervalSecs} s); ${os.cpus().length} CPUs, load ${os
            .loadavg()
            .map((l) => l.toFixed(2))
            .join(" ")}`,
      );
      const started = new Date();
      const runs = await measureFailover(o, say);
      const summary = {
        reassignedMs: median(runs.map((r) => r.reassignedMs)),
        firstReadMs: median(runs.map((r) => r.firstReadMs)),
        firstAtSinkMs: median(runs.map((r) => r.firstAtSinkMs)),
        maxFirstAtSinkMs: Math.max(...runs.map((r) => r.firstAtSinkMs)),
      };
      const heartbeatMs = o.heartbeatIntervalSecs * 1000;
      const report = {
        timestamp: started.toISOString(),
        environment: {
          node: process.version,
          cpus: os.cpus().length,
          loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
        },
        settings: {
          heartbeatIntervalMs: heartbeatMs,
          deadAfterMissed: DEAD_AFTER_MISSED,
          deadTimeoutMs: DEAD_AFTER_MISSED * heartbeatMs,
          sourceRate: o.rate,
          topology:
            "router 127.0.23.1; pod A: sidecar a + gen (gen-a-*); pod B: sidecar b + gen (gen-b-*); pod C: sidecar c + enrich + sink",
        },
        target: { firstAtSinkMs: 2 * heartbeatMs, met: summary.firstAtSinkMs <= 2 * heartbeatMs },
        summary,
        runs,
      };
      fs.mkdirSync(path.dirname(o.out), { recursive: true });
      fs.writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(
        `failover (median of ${runs.length}): reassigned ${summary.reassignedMs} ms, first read ${summary.firstReadMs} ms, ` +
          `first at the sink ${summary.firstAtSinkMs} ms (max ${summary.maxFirstAtSinkMs}) after kill -9; ` +
          `target ≤ 2 × heartbeat = ${2 * heartbeatMs} ms: ${report.target.met ? "met" : "MISSED"} ` +
          `(dead timeout alone is ${DEAD_AFTER_MISSED * heartbeatMs} ms)\nresults: ${path.relative(process.cwd(), o.out) || o.out}\n`,
      );
    });
  await program.parseAsync(argv, { from: "user" });
}

if (require.main === module) {
  // Ctrl-C / kill: exit through process.exit so ManagedProcess kills every child.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`failover: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

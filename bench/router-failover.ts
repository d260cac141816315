/**
 * The router-cluster failover figure (issue #14): kill -9 of the leader → the
 * first routing table from the new leader at a sidecar.
 *
 *   etcd 127.0.25.1 (raft heartbeat 50 ms, election 500 ms)
 *   routers 127.0.25.2-4, ROUTER_STORE=etcd:…, lease TTL --lease-ttl-secs (default 2, the router's default)
 *   pods 127.0.25.5-7: sidecars a, b, c (CLUSTER_ENDPOINT = all three routers)
 *     + gen → enrich → out, flowing at 200 records/s
 *
 * Each trial kills the leader (read from etcd), then reads the sidecars' logs
 * for "first routing table of the session" from another router: `first` is the
 * earliest sidecar, `all` the last of the three. The killed router restarts as
 * a standby before the next trial. Times are from the kill to the log line's
 * timestamp (same clock).
 *
 * With --signal SIGSTOP the leader is paused instead (then killed): its
 * connections stay open, so this measures the lease path (TTL + the
 * sidecars' keepalive), not the fast path of a refused port.
 *
 *   tsx bench/router-failover.ts [--trials N] [--lease-ttl-secs S] [--signal SIGKILL|SIGSTOP] [--out FILE]
 *   (or: tsx bench/run.ts router-failover …)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, Option } from "commander";
import { Etcd3 } from "etcd3";
import { LocalCluster } from "../src/cluster/local-cluster";
import type { ManagedProcess } from "../src/cluster/managed-process";
import { EtcdServer } from "../e2e/harness/etcd";
import { freePortBlock } from "../e2e/harness/ports";
import { adminClient, applyPipeline, eventually, listSidecars } from "../e2e/harness/pipeline";
import { currentLeader } from "../e2e/harness/router-cluster";

const ETCD_HOST = "127.0.25.1";
const ROUTER_HOSTS = ["127.0.25.2", "127.0.25.3", "127.0.25.4"];
const PODS = { a: "127.0.25.5", b: "127.0.25.6", c: "127.0.25.7" } as const;
const RESULTS_DIR = path.resolve(__dirname, "results");

const PIPELINE = `name: failover
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

export interface RouterFailoverTrial {
  trial: number;
  killed: string;
  newLeader: string;
  firstTableMs: number;
  allTablesMs: number;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Timestamps (ms) of "first routing table of the session" lines from `router` at or after `sinceMs`. */
function firstTableAt(proc: ManagedProcess, notRouter: string, sinceMs: number): number | undefined {
  for (const line of proc.output().split("\n")) {
    if (!line.includes('"first routing table of the session"')) continue;
    const j = JSON.parse(line) as { time: string; router: string };
    const t = Date.parse(j.time);
    if (t >= sinceMs && j.router !== notRouter) return t;
  }
  return undefined;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command("router-failover")
    .addOption(new Option("--trials <n>", "kill -9 trials").default("20"))
    .addOption(new Option("--lease-ttl-secs <s>", "the leader's lease TTL").default("2"))
    .addOption(
      new Option("--signal <signal>", "SIGKILL (a crash), or SIGSTOP (a paused leader: the lease path)")
        .choices(["SIGKILL", "SIGSTOP"])
        .default("SIGKILL"),
    )
    .addOption(
      new Option("--out <file>", "JSON results").default(path.join(RESULTS_DIR, "router-failover.json")),
    );
  program.parse(argv, { from: "user" });
  const opts = program.opts<{
    trials: string;
    leaseTtlSecs: string;
    out: string;
    signal: "SIGKILL" | "SIGSTOP";
  }>();
  const trials = Number(opts.trials);
  const leaseTtlSecs = Number(opts.leaseTtlSecs);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-router-failover-"));
  const cluster = new LocalCluster(dir);
  const base = await freePortBlock([ETCD_HOST, ...ROUTER_HOSTS, ...Object.values(PODS)], 6);
  const etcdServer = new EtcdServer(dir, ETCD_HOST, base, base + 1);
  const etcd = new Etcd3({ hosts: `http://${etcdServer.endpoint}` });
  const addresses = ROUTER_HOSTS.map((h) => `${h}:${base}`);
  const routers = new Map<string, ManagedProcess>();
  let starts = 0;
  const startRouter = async (i: number): Promise<void> => {
    const started = await cluster.startRouter(
      {
        host: ROUTER_HOSTS[i],
        port: base,
        store: `etcd:${etcdServer.endpoint}`,
        heartbeatIntervalSecs: 1,
        leaseTtlSecs,
      },
      `router-${i}-${starts++}`,
    );
    routers.set(addresses[i]!, started.process);
  };
  const results: RouterFailoverTrial[] = [];
  try {
    await etcdServer.start();
    await Promise.all([0, 1, 2].map(startRouter));
    let leader: string | undefined;
    await eventually(
      async () => (leader = await currentLeader(etcd)) !== undefined,
      15_000,
      () => "no leader",
    );
    const admin = adminClient(leader!);
    await applyPipeline(admin, PIPELINE);
    admin.close();
    const discovery = { discoveryStartPort: base + 3, discoveryEndPort: base + 5 };
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: PODS.a,
      port: base + 3,
      rate: 200,
      count: 10_000_000,
    });
    await cluster.startStage({ kind: "transform", name: "enrich", host: PODS.b, port: base + 3 });
    await cluster.startStage({ kind: "sink", name: "out", host: PODS.c, port: base + 3, dir, fsync: false });
    const sidecars: ManagedProcess[] = [];
    const common = { port: base + 2, router: addresses.join(","), shutdownGraceSecs: 2, ...discovery };
    for (const [id, host] of Object.entries(PODS))
      sidecars.push((await cluster.startSidecar({ id, host, ...common })).process);

    const allOn = async (address: string): Promise<boolean> => {
      const a = adminClient(address);
      try {
        return (await listSidecars(a)).filter((s) => s.state === "alive").length === 3;
      } catch {
        return false;
      } finally {
        a.close();
      }
    };
    for (let trial = 1; trial <= trials; trial++) {
      let victim: string | undefined;
      await eventually(
        async () => (victim = await currentLeader(etcd)) !== undefined && (await allOn(victim)),
        30_000,
        () => `leader ${victim ?? "none"} does not serve all three sidecars`,
      );
      const proc = routers.get(victim!)!;
      const killedAt = Date.now();
      proc.kill(opts.signal);
      let times: Array<number | undefined> = [];
      await eventually(
        () => (times = sidecars.map((s) => firstTableAt(s, victim!, killedAt))).every((t) => t !== undefined),
        30_000,
        () => `tables after the kill: ${JSON.stringify(times)}`,
      );
      const ms = (times as number[]).map((t) => t - killedAt);
      const newLeader = (await currentLeader(etcd)) ?? "?";
      results.push({
        trial,
        killed: victim!,
        newLeader,
        firstTableMs: Math.min(...ms),
        allTablesMs: Math.max(...ms),
      });
      process.stderr.write(`trial ${trial}: first table ${Math.min(...ms)} ms, all ${Math.max(...ms)} ms\n`);
      if (opts.signal === "SIGSTOP") proc.kill("SIGKILL");
      await proc.exited;
      await startRouter(addresses.indexOf(victim!));
    }
  } finally {
    etcd.close();
    await cluster.stopAll(5000);
    await etcdServer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const first = results.map((r) => r.firstTableMs);
  const all = results.map((r) => r.allTablesMs);
  const summary = {
    trials: results.length,
    leaseTtlSecs,
    signal: opts.signal,
    firstTable: { p50: percentile(first, 50), p99: percentile(first, 99), max: Math.max(...first) },
    allTables: { p50: percentile(all, 50), p99: percentile(all, 99), max: Math.max(...all) },
    results,
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(summary, null, 2) + "\n");
  process.stdout.write(
    `router failover (${opts.signal} leader → first table from the new leader), ${results.length} trials, lease TTL ${leaseTtlSecs} s:\n` +
      `  first sidecar: p50 ${summary.firstTable.p50} ms, p99 ${summary.firstTable.p99} ms, max ${summary.firstTable.max} ms\n` +
      `  all three:     p50 ${summary.allTables.p50} ms, p99 ${summary.allTables.p99} ms, max ${summary.allTables.max} ms\n` +
      `  (${opts.out})\n`,
  );
}

if (require.main === module)
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(
      `router-failover: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });

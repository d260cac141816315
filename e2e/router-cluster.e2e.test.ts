/**
 * The router cluster (ROUTER_STORE=etcd:…): 3 routers + etcd + 3 sidecars,
 * each sidecar given all three router endpoints, with a pipeline flowing
 *
 *   etcd 127.0.24.1 (raft heartbeat 50 ms, election 500 ms: 1 s leases are honoured)
 *   routers 127.0.24.2-4 (lease TTL 1 s, heartbeat 1 s)
 *   pod A 127.0.24.5: sidecar a + generator "gen" ─▶ pod B 127.0.24.6: sidecar b + enrich
 *                                                  ─▶ pod C 127.0.24.7: sidecar c + NDJSON sink "out"
 *
 * 1. kill -9 the leader 10 times in a row (the killed one restarts as a standby each
 *    time): a standby leads each time and all three sidecars follow it.
 * 2. SIGSTOP the leader past its lease: a standby leads; SIGCONT: the old leader
 *    cannot commit and steps down.
 * 3. kill etcd and restart it: the cluster elects a leader again and commits (an
 *    ApplyPipeline sent to a standby is forwarded to the leader).
 * Then: every record arrived, and the placement history (every router logs each
 * commit) shows no commit of a deposed leader, generations that never go down and
 * no stage held by two sidecars in one generation.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Etcd3 } from "etcd3";
import { LocalCluster, type RouterSpec } from "../src/cluster/local-cluster";
import type { ManagedProcess } from "../src/cluster/managed-process";
import type { AdminClient } from "../src/generated/conveyor/v1/Admin";
import { EtcdServer } from "./harness/etcd";
import type { ConsoleOverview } from "../router/console/api-types";
import { freePortBlock } from "./harness/ports";
import { adminClient, applyPipeline, countLines, eventually, listSidecars } from "./harness/pipeline";
import { scanSinkFile, tearDownCluster } from "./harness/faults";
import { commitHistory, currentLeader, historyProblems } from "./harness/router-cluster";

jest.setTimeout(120_000);

const ETCD_HOST = "127.0.24.1";
const ROUTER_HOSTS = ["127.0.24.2", "127.0.24.3", "127.0.24.4"];
const PODS = { a: "127.0.24.5", b: "127.0.24.6", c: "127.0.24.7" } as const;
const KILLS = Number(process.env.ROUTER_CLUSTER_KILLS ?? 10);
const RATE = 400;
const COUNT = 16_000;

const PIPELINE = `name: flow
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

describe("router cluster", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-router-cluster-"));
  const cluster = new LocalCluster(dir);
  let etcdServer: EtcdServer | undefined;
  let etcd: Etcd3 | undefined;
  const admins = new Map<string, AdminClient>();
  let failed = true;

  afterAll(async () => {
    for (const a of admins.values()) a.close();
    etcd?.close();
    await tearDownCluster(cluster, dir, "router cluster", failed).finally(() => etcdServer?.stop());
  });

  it(`survives ${KILLS} leader kills, a paused leader and an etcd restart without losing a record`, async () => {
    const base = await freePortBlock([ETCD_HOST, ...ROUTER_HOSTS, ...Object.values(PODS)], 6);
    etcdServer = new EtcdServer(dir, ETCD_HOST, base, base + 1);
    await etcdServer.start();
    etcd = new Etcd3({ hosts: `http://${etcdServer.endpoint}` });
    const addresses = ROUTER_HOSTS.map((h) => `${h}:${base}`);
    const admin = (address: string): AdminClient => {
      let a = admins.get(address);
      if (!a) admins.set(address, (a = adminClient(address)));
      return a;
    };
    const routers = new Map<string, ManagedProcess>();
    let starts = 0;
    const startRouter = async (i: number): Promise<void> => {
      const spec: RouterSpec = {
        host: ROUTER_HOSTS[i],
        port: base,
        store: `etcd:${etcdServer!.endpoint}`,
        heartbeatIntervalSecs: 1,
        leaseTtlSecs: 1,
        httpPort: base + 1,
      };
      const started = await cluster.startRouter(spec, `router-${i}-${starts++}`);
      routers.set(addresses[i]!, started.process);
    };
    await Promise.all([0, 1, 2].map(startRouter));

    const leader = (): Promise<string | undefined> => currentLeader(etcd!);
    /** The leader, once it is one that is not `not` and serves all three sidecars. */
    const followed = async (not: string | undefined, within: number): Promise<string> => {
      let seen: string | undefined;
      let alive: string[] = [];
      await eventually(
        async () => {
          seen = await leader().catch(() => undefined);
          if (seen === undefined || seen === not) return false;
          alive = await listSidecars(admin(seen)).then(
            (xs) => xs.filter((s) => s.state === "alive").map((s) => s.sidecarId),
            () => [],
          );
          return alive.length === 3;
        },
        within,
        () => `leader ${seen ?? "none"} (not ${not ?? "-"}) serves ${alive.join(",") || "no sidecar"}`,
      );
      return seen!;
    };

    let first = await leader();
    await eventually(
      async () => (first = await leader()) !== undefined,
      10_000,
      () => "no leader elected",
    );
    // Applied through a standby: forwarded to the leader.
    await applyPipeline(admin(addresses.find((a) => a !== first)!), PIPELINE);

    const discovery = { discoveryStartPort: base + 3, discoveryEndPort: base + 5 };
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: PODS.a,
      port: base + 3,
      count: COUNT,
      rate: RATE,
    });
    await cluster.startStage({ kind: "transform", name: "enrich", host: PODS.b, port: base + 3 });
    await cluster.startStage({ kind: "sink", name: "out", host: PODS.c, port: base + 3, dir });
    const common = { port: base + 2, router: addresses.join(","), shutdownGraceSecs: 2, ...discovery };
    for (const [id, host] of Object.entries(PODS)) await cluster.startSidecar({ id, host, ...common });
    const sinkFile = path.join(dir, "out.ndjson");
    await eventually(
      () => countLines(sinkFile) >= 200,
      30_000,
      () => `${countLines(sinkFile)} records at the sink`,
    );
    let current = await followed(undefined, 15_000);

    // The console on every member: a standby serves the page and forwards /api (and its event
    // stream) to the leader's console, which it finds in the leader key.
    const consoleOf = (grpcAddress: string): string =>
      `http://${grpcAddress.replace(/:\d+$/, "")}:${base + 1}`;
    const standbyConsole = consoleOf(addresses.find((a) => a !== current)!);
    const page = await fetch(`${standbyConsole}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<script");
    const overview = await fetch(`${standbyConsole}/api/overview`);
    expect(overview.status).toBe(200);
    expect(overview.headers.get("x-conveyor-console-leader")).toBe(
      consoleOf(current).slice("http://".length),
    );
    const o = (await overview.json()) as ConsoleOverview;
    expect(
      o.sidecars
        .filter((s) => s.state === "alive")
        .map((s) => s.id)
        .sort(),
    ).toEqual(["a", "b", "c"]);
    expect(o.pipelines.map((p) => p.name)).toEqual(["flow"]);
    const events = await fetch(`${standbyConsole}/api/events`);
    const reader = events.body!.getReader();
    let streamed = "";
    while (!streamed.includes("event: overview")) {
      const chunk = await reader.read();
      if (chunk.done) break;
      streamed += new TextDecoder().decode(chunk.value);
    }
    await reader.cancel();
    expect(streamed).toContain("event: overview");

    // 1. kill -9 the leader, again and again.
    const failoverMs: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const victim = current;
      const proc = routers.get(victim)!;
      const killedAt = Date.now();
      proc.kill("SIGKILL");
      await proc.exited;
      current = await followed(victim, 15_000);
      failoverMs.push(Date.now() - killedAt);
      await startRouter(addresses.indexOf(victim));
    }
    console.log(
      `router cluster: ${KILLS} kill -9 failovers, leader → all 3 sidecars on the new leader (ms): ${failoverMs.join(", ")}`,
    );

    // 2. A paused leader: deposed while stopped; on waking it cannot commit and steps down.
    const paused = current;
    const pausedProc = routers.get(paused)!;
    pausedProc.kill("SIGSTOP");
    current = await followed(paused, 20_000);
    const stepDowns = (pausedProc.output().match(/stepping down/g) ?? []).length;
    pausedProc.kill("SIGCONT");
    await pausedProc.waitForOutput(new RegExp(`(stepping down[\\s\\S]*){${stepDowns + 1}}`), 10_000);
    expect(await leader()).toBe(current);

    // 3. etcd restarts: a leader again, and it commits (through a standby's forwarding).
    await etcdServer.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await etcdServer.start();
    current = await followed(undefined, 30_000);
    const standby = addresses.find((a) => a !== current)!;
    await applyPipeline(admin(standby), "name: probe\nsource: { stage: nowhere }\nsink: { stage: out }\n");

    await eventually(
      () => countLines(sinkFile) >= COUNT && scanSinkFile(sinkFile, "gen", COUNT).missingCount === 0,
      60_000,
      () => {
        const s = scanSinkFile(sinkFile, "gen", COUNT);
        return `${s.missingCount} of ${COUNT} ids missing, e.g. ${s.missing.join(", ")}`;
      },
    );
    const scan = scanSinkFile(sinkFile, "gen", COUNT);
    const history = commitHistory(dir);
    const terms = new Set(history.map((c) => c.leaderRevision));
    console.log(
      `router cluster: all ${COUNT} records arrived (${scan.duplicates} duplicates); ${history.length} commits in ${terms.size} terms, ` +
        `generations ${history[0]?.generation}…${history[history.length - 1]?.generation}`,
    );
    expect(historyProblems(history)).toEqual([]);
    expect(terms.size).toBeGreaterThanOrEqual(KILLS + 2);
    failed = false;
  });
});

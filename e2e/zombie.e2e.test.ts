/**
 * A zombie sidecar: the sidecar that reads the source is frozen (SIGSTOP) past
 * the router's dead timeout, the source moves to another pod, then the frozen
 * sidecar wakes up (SIGCONT). From then on it must deliver nothing: its own
 * pause fence refuses delivery until the router has sent it the current
 * routing table, and peers refuse batches routed on an older generation.
 *
 * Pods: A (127.0.14.2) and B (127.0.14.3) each have a source "gen" (ids a-… and
 * b-…); C (127.0.14.4) has the transform and the sink. The router picks A first.
 *
 * The console's JSON (/api/overview) must show A dead while frozen, fenced once it
 * speaks again on its old table, alive once it has the current one. Left alone,
 * the fenced window is one Register and one table round trip (≈ 150–200 ms
 * here), so A's router connection goes through a TCP relay: from just before
 * SIGCONT, the router hears A but its answers wait until the console showed A
 * fenced. That holds A fenced as long as the test needs (up to the dead
 * timeout: A re-registers while it waits, and the router keeps the fence).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ConsoleOverview, ConsoleSidecar } from "../router/console/api-types";
import { LocalCluster, type Started } from "../src/cluster/local-cluster";
import { freePortBlock } from "./harness/ports";
import { adminClient, applyPipeline, eventually, listAssignments, readSinkFile } from "./harness/pipeline";
import { TcpRelay } from "./harness/tcp-relay";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.14.1";
const POD_A = "127.0.14.2";
const POD_B = "127.0.14.3";
const POD_C = "127.0.14.4";

const PIPELINE = `name: zombie
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

/** What the console said of a sidecar, and when (ms since the poll started). */
interface Seen {
  atMs: number;
  sidecar: ConsoleSidecar;
  generation: number;
}

/** Polls /api/overview every `everyMs` and keeps each answer about sidecar `id` until stopped. */
function watchSidecar(
  overviewUrl: string,
  id: string,
  everyMs: number,
): { seen: Seen[]; stop(): Promise<void> } {
  const seen: Seen[] = [];
  const t0 = Date.now();
  let running = true;
  let failure: unknown;
  const loop = (async (): Promise<void> => {
    while (running) {
      const res = await fetch(overviewUrl, { signal: AbortSignal.timeout(2000) });
      const o = (await res.json()) as ConsoleOverview;
      const sidecar = o.sidecars.find((s) => s.id === id);
      if (sidecar) seen.push({ atMs: Date.now() - t0, sidecar, generation: o.generation });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })().catch((err: unknown) => {
    // Kept for stop(): a console that stops answering fails the test there, not as an unhandled rejection.
    failure = err;
  });
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
      if (failure !== undefined) throw failure;
    },
  };
}

/** The states in the order seen, each run of one state once: ["dead", "fenced", "alive"]. */
function stateRuns(seen: readonly Seen[]): string[] {
  return seen.map((s) => s.sidecar.state).filter((state, i, all) => i === 0 || all[i - 1] !== state);
}

describe("zombie sidecar (SIGSTOP past the dead timeout, then SIGCONT)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-zombie-"));
  const cluster = new LocalCluster(dir);
  let base = 0;
  let sidecarA: Started | undefined;
  let relay: TcpRelay | undefined;

  afterAll(async () => {
    sidecarA?.process.kill("SIGCONT"); // a stopped process cannot stop
    await relay?.stop();
    await cluster.stopAll();
    if (!process.env.KEEP_E2E_DIR) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("delivers nothing after its source moved, and the pipeline keeps flowing from the new owner", async () => {
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B, POD_C], 12);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({
      host: ROUTER_HOST,
      port: base,
      heartbeatIntervalSecs: 1,
      httpPort: base + 1,
    });
    const overviewUrl = `http://${ROUTER_HOST}:${base + 1}/api/overview`;
    const consoleSidecar = async (id: string): Promise<ConsoleSidecar | undefined> => {
      const res = await fetch(overviewUrl, { signal: AbortSignal.timeout(2000) });
      return ((await res.json()) as ConsoleOverview).sidecars.find((s) => s.id === id);
    };
    // A reaches the router through the relay (transparent until held); B and C directly.
    relay = await TcpRelay.start(ROUTER_HOST, base + 2, router);
    const admin = adminClient(router);
    try {
      await applyPipeline(admin, PIPELINE);
      const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
      for (const [host, prefix] of [
        [POD_A, "a"],
        [POD_B, "b"],
      ] as const) {
        await cluster.startStage({
          kind: "source",
          name: "gen",
          host,
          port: base + 2,
          rate: 300,
          idPrefix: prefix,
        });
      }
      await cluster.startStage({ kind: "transform", name: "enrich", host: POD_C, port: base + 2 });
      await cluster.startStage({ kind: "sink", name: "out", host: POD_C, port: base + 3, dir });
      // A registers first, so the single source instance is A's; B stands by.
      sidecarA = await cluster.startSidecar({
        id: "a",
        host: POD_A,
        port: base + 1,
        router: relay.address,
        ...discovery,
      });
      await cluster.startSidecar({ id: "c", host: POD_C, port: base + 1, router, ...discovery });
      await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });

      const sinkFile = path.join(dir, "out.ndjson");
      const countFrom = (prefix: string): number =>
        readSinkFile(sinkFile).filter((l) => l.id.startsWith(`${prefix}-`)).length;
      await eventually(
        () => countFrom("a") >= 300,
        30_000,
        () => `${countFrom("a")} records from A`,
      );
      expect((await listAssignments(admin, "zombie")).find((a) => a.stage === "gen")?.sidecarId).toBe("a");
      expect((await consoleSidecar("a"))?.state).toBe("alive");

      sidecarA.process.kill("SIGSTOP");
      // Dead after 3 missed heartbeats of 1 s; the source moves to B.
      await eventually(
        async () =>
          (await listAssignments(admin, "zombie")).find((a) => a.stage === "gen")?.sidecarId === "b",
        20_000,
        () => "the source never moved to B",
      );
      await eventually(
        () => countFrom("b") >= 100,
        30_000,
        () => `${countFrom("b")} records from B`,
      );
      const fromAAtWake = countFrom("a");
      // Still frozen: the console shows A dead, not fenced (it has not spoken since).
      expect(await consoleSidecar("a")).toMatchObject({
        state: "dead",
        fenceReason: "",
        fencedSinceMs: null,
      });

      relay.hold("to-client");
      const watch = watchSidecar(overviewUrl, "a", 25);
      const seen = watch.seen; // filled as the console answers
      try {
        await eventually(
          () => seen.length >= 2, // polling before A wakes
          5_000,
          () => "the console did not answer",
        );
        sidecarA.process.kill("SIGCONT");
        await sidecarA.process.waitForOutput(/fencing delivery and registering again/, 15_000);
        // Held, it stays fenced: several answers in a row, not a glimpse, before A may catch up.
        await eventually(
          () => seen.filter((s) => s.sidecar.state === "fenced").length >= 3,
          5_000,
          () => `the console never showed A fenced: ${stateRuns(seen).join(" → ")}`,
        );
        relay.release();
        await sidecarA.process.waitForOutput(/registered with the router/, 15_000);
        await eventually(
          () => {
            const last = seen[seen.length - 1];
            return last?.sidecar.state === "alive" && last.sidecar.routingVersion === last.generation;
          },
          10_000,
          () => `A never caught up: ${stateRuns(seen).join(" → ")}`,
        );
      } finally {
        relay.release();
        await watch.stop();
      }
      // Dead while frozen, fenced (never alive) from its first word until it had the current table.
      expect(stateRuns(seen)).toEqual(["dead", "fenced", "alive"]);
      const fenced = seen.filter((s) => s.sidecar.state === "fenced");
      for (const f of fenced) {
        expect(f.sidecar.fenceReason).toMatch(/back after being presumed dead/);
        expect(f.sidecar.fencedSinceMs).not.toBeNull();
        expect(f.sidecar.routingVersion).toBeLessThan(f.generation);
      }
      expect(seen[seen.length - 1]!.sidecar).toMatchObject({
        fenceReason: "",
        fencedSinceMs: null,
        behind: false,
      });
      // Give the woken sidecar time to do whatever it would do, while B keeps flowing.
      const fromB = countFrom("b");
      await eventually(
        () => countFrom("b") >= fromB + 600,
        30_000,
        () => `B stalled at ${countFrom("b")}`,
      );

      expect(countFrom("a")).toBe(fromAAtWake);
      // The source stays with B (sticky); A runs nothing of the pipeline now.
      const assignments = await listAssignments(admin, "zombie");
      expect(assignments.find((a) => a.stage === "gen")?.sidecarId).toBe("b");
    } finally {
      admin.close();
    }
  });
});

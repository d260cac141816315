/**
 * The router in-process on 127.0.0.1:0, driven by real gRPC clients playing
 * sidecars (Register / Heartbeat / Deregister) and the operator (Admin).
 */
import { promises as fsp } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AdminApi } from "../src/cli/admin-client";
import type { RouterConfig } from "../src/config/env";
import { ConveyorError } from "../src/errors";
import type { LocalService } from "../src/generated/conveyor/v1/LocalService";
import type { RegisterResponse__Output } from "../src/generated/conveyor/v1/RegisterResponse";
import type { RouterClient } from "../src/generated/conveyor/v1/Router";
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import type { SidecarStatus } from "../src/generated/conveyor/v1/SidecarStatus";
import { deadlineIn, v1 } from "../src/proto";
import { committedAssignments } from "./cluster/committed-views";
import { startRouter, type RunningRouter } from "./main";
import { FileStore } from "./store/file";
import { inProcessRouterConfig } from "./test-router";

const WAIT_MS = 5000;

const routerConfig = inProcessRouterConfig;

function source(stageName: string, partitions: number[] = []): LocalService {
  return {
    endpoint: "127.0.0.1:50051",
    service: "conveyor.v1.Source",
    kind: "STAGE_KIND_SOURCE",
    stageName,
    version: "1",
    partitions,
  };
}

/** Resolves when check() passes, re-checking whenever poke() is called or every 20 ms. */
async function eventually<T>(what: string, check: () => T | undefined, timeoutMs = WAIT_MS): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A test double of a sidecar's router client: registers, heartbeats, records
 * the routing tables it receives and, like a sidecar, answers each one with a
 * status at once: its routing version and, as what it reads, the source
 * partitions the table gives it (its readers stop at once).
 */
class FakeSidecar {
  readonly tables: RoutingTable__Output[] = [];
  status: grpc.StatusObject | undefined;
  /** Source partitions (of the first pipeline's source) it keeps claiming whatever the table says: a slow drain. */
  holding: number[] = [];
  private stream: grpc.ClientDuplexStream<SidecarStatus, RoutingTable__Output> | undefined;
  private readonly client: RouterClient;

  constructor(
    address: string,
    readonly id: string,
    public services: LocalService[],
  ) {
    this.client = new v1.Router(address, grpc.credentials.createInsecure());
  }

  register(): Promise<RegisterResponse__Output> {
    return new Promise((resolve, reject) =>
      this.client.Register(
        {
          sidecarId: this.id,
          podName: `pod-${this.id}`,
          namespace: "test",
          peerAddress: `${this.id}.pod:9091`,
          services: this.services,
        },
        { deadline: deadlineIn(WAIT_MS) },
        (err, res) => (err ? reject(err) : res ? resolve(res) : reject(new Error("empty response"))),
      ),
    );
  }

  deregister(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.Deregister({ sidecarId: this.id }, { deadline: deadlineIn(WAIT_MS) }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  /** Opens the heartbeat stream with the handshake status. */
  connect(): void {
    this.tables.length = 0;
    this.status = undefined;
    const stream = this.client.Heartbeat({ deadline: deadlineIn(60_000) });
    stream.on("data", (t: RoutingTable__Output) => {
      this.tables.push(t);
      this.beat();
    });
    stream.on("status", (s: grpc.StatusObject) => (this.status = s));
    // Errors also arrive as a status; the listener only keeps them from being unhandled.
    stream.on("error", () => undefined);
    this.stream = stream;
    this.beat(true);
  }

  beat(servicesChanged = false, stages: SidecarStatus["stages"] = []): void {
    const last = this.tables.at(-1);
    const sources = (last?.pipelines ?? []).flatMap((p) =>
      p.stages
        .filter((s) => s.index === 0)
        .flatMap((s) => s.instances.filter((i) => i.sidecarId === this.id))
        .map((i) => ({
          pipeline: p.pipeline,
          stage: p.stages[0].name,
          partitions: i.partitions,
          generation: i.generation,
        })),
    );
    const first = last?.pipelines[0];
    if (this.holding.length > 0 && first) {
      const claimed = sources.find((c) => c.pipeline === first.pipeline);
      const partitions = [...new Set([...(claimed?.partitions ?? []), ...this.holding])].sort();
      if (claimed) claimed.partitions = partitions;
      else sources.push({ pipeline: first.pipeline, stage: first.stages[0].name, partitions, generation: 0 });
    }
    this.stream?.write({
      sidecarId: this.id,
      services: this.services,
      servicesChanged,
      stages,
      routingVersion: last?.version ?? 0,
      sources,
    });
  }

  /** The tables received so far, each as what it places here: "v3 orders[0,1] file". */
  log(): string[] {
    return this.tables.map((t) => summarize(t, this.id));
  }

  /** Waits until the latest table reads `expected` (a string or a pattern); returns every table so far. */
  async waitForTable(expected: string | RegExp): Promise<string[]> {
    const matches = (x: string | undefined): boolean =>
      x !== undefined && (typeof expected === "string" ? x === expected : expected.test(x));
    return eventually(`table "${String(expected)}" on ${this.id} (have ${this.log().join(" | ")})`, () =>
      matches(this.log().at(-1)) ? this.log() : undefined,
    );
  }

  async waitForStatus(): Promise<grpc.StatusObject> {
    return eventually(`end of ${this.id}'s heartbeat stream`, () => this.status);
  }

  close(): void {
    this.stream?.cancel();
    this.client.close();
  }
}

function summarize(t: RoutingTable__Output, sidecarId: string): string {
  const placed = t.pipelines.flatMap((p) =>
    p.stages.flatMap((s) =>
      s.instances
        .filter((i) => i.sidecarId === sidecarId)
        .map((i) => (s.kind === "STAGE_KIND_SOURCE" ? `${s.name}[${i.partitions.join(",")}]` : s.name)),
    ),
  );
  return [`v${t.version}`, ...placed].join(" ");
}

const partitionedToFile = (dir: string): string =>
  [
    "name: orders-to-file",
    "source: { stage: orders }",
    `sink: { builtin: file, config: { dir: ${JSON.stringify(dir)} } }`,
    "settings: { batchSize: 50 }",
  ].join("\n");

describe("router", () => {
  let router: RunningRouter | undefined;
  let admin: AdminApi | undefined;
  const sidecars: FakeSidecar[] = [];
  let tmp: string;

  const start = async (
    overrides: Partial<RouterConfig> = {},
  ): Promise<{ router: RunningRouter; admin: AdminApi }> => {
    router = await startRouter(routerConfig(overrides));
    admin = new AdminApi(router.address);
    return { router, admin };
  };
  const stop = async (): Promise<void> => {
    admin?.close();
    admin = undefined;
    await router?.stop();
    router = undefined;
  };
  const sidecar = (address: string, id: string, services: LocalService[]): FakeSidecar => {
    const s = new FakeSidecar(address, id, services);
    sidecars.push(s);
    return s;
  };

  beforeEach(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "conveyor-router-"));
  });
  afterEach(async () => {
    for (const s of sidecars.splice(0)) s.close();
    await stop();
    await fsp.rm(tmp, { recursive: true, force: true });
  });

  it("sends a registered sidecar the full table, then every new table; a partition moves only once its owner let go", async () => {
    const { router, admin } = await start();
    const applied = await admin.applyPipeline({ definition: partitionedToFile(path.join(tmp, "out")) });
    expect(applied).toEqual({ name: "orders-to-file", created: true, generation: 1 });

    const a = sidecar(router.address, "a", [source("orders", [0, 1, 2, 3])]);
    expect(await a.register()).toEqual({ heartbeatIntervalMs: 5000, generation: 2 });
    a.connect();
    expect(await a.waitForTable("v2 orders[0,1,2,3] file")).toEqual(["v2 orders[0,1,2,3] file"]);
    const table = a.tables[0];
    expect(table?.generation).toBe(2);
    expect(table?.pipelines).toHaveLength(1);
    expect(table?.pipelines[0].settings?.batchSize).toBe(50);
    expect(table?.pipelines[0].generation).toBe(2);
    expect(
      table?.pipelines[0].stages.map((s) => [s.name, s.kind, s.builtin, s.instances.map((i) => i.sidecarId)]),
    ).toEqual([
      ["orders", "STAGE_KIND_SOURCE", "", ["a"]],
      ["file", "STAGE_KIND_SINK", "file", ["a"]],
    ]);
    expect(JSON.parse(table?.pipelines[0].stages[1].builtinConfigJson ?? "{}")).toEqual({
      dir: path.join(tmp, "out"),
    });

    // b joins with the same source: the partitions are split. a first loses 2 and 3 (v3); b gets them only
    // in the table after a reported that it no longer reads them (v4): never two readers of a partition.
    const b = sidecar(router.address, "b", [source("orders", [0, 1, 2, 3])]);
    expect((await b.register()).generation).toBe(3);
    expect(await a.waitForTable("v4 orders[0,1] file")).toEqual([
      "v2 orders[0,1,2,3] file",
      "v3 orders[0,1] file",
      "v4 orders[0,1] file",
    ]);
    const v3 = a.tables[1];
    expect(v3?.pipelines[0].stages[0].instances.map((i) => [i.sidecarId, i.partitions])).toEqual([
      ["a", [0, 1]],
    ]);
    b.connect();
    expect(await b.waitForTable("v4 orders[2,3] file")).toEqual(["v4 orders[2,3] file"]);
    // Generations inside the table: a's source instance changed in 3, b's appeared in 4.
    const v4 = a.tables[2];
    expect(v4?.pipelines[0].generation).toBe(4);
    expect(v4?.pipelines[0].stages[0].instances.map((i) => [i.sidecarId, i.generation])).toEqual([
      ["a", 3],
      ["b", 4],
    ]);

    const listed = await admin.listAssignments();
    expect(listed.generation).toBe(4);
    expect(listed.assignments.map((x) => [x.stage, x.sidecarId, x.partitions, x.generation, x.kind])).toEqual(
      [
        ["orders", "a", [0, 1], 3, "STAGE_KIND_SOURCE"],
        ["orders", "b", [2, 3], 3, "STAGE_KIND_SOURCE"],
        ["file", "a", [], 2, "STAGE_KIND_SINK"],
        ["file", "b", [], 3, "STAGE_KIND_SINK"],
      ],
    );

    // Stage counters from heartbeats are summed per stage.
    a.beat(false, [
      {
        pipeline: "orders-to-file",
        stage: "file",
        recordsIn: 10,
        recordsOut: 9,
        errors: 1,
        lastError: "disk full",
        state: "running",
      },
    ]);
    b.beat(false, [
      {
        pipeline: "orders-to-file",
        stage: "file",
        recordsIn: 5,
        recordsOut: 5,
        errors: 0,
        lastError: "",
        state: "running",
      },
    ]);
    let latest: Awaited<ReturnType<AdminApi["getPipelineStatus"]>> | undefined;
    const status = await eventually("stage counters", () => {
      void admin.getPipelineStatus("orders-to-file").then((s) => (latest = s));
      return latest?.stages[1].recordsIn === 15 ? latest : undefined;
    });
    expect(status.state).toBe("ready");
    expect(status.stages[1]).toMatchObject({
      stage: "file",
      sidecars: ["a", "b"],
      recordsIn: 15,
      recordsOut: 14,
      errors: 1,
      lastError: "a: disk full",
    });

    // b leaves: a gets every partition back at once (b reads nothing any more).
    await b.deregister();
    expect((await a.waitForTable("v5 orders[0,1,2,3] file")).slice(3)).toEqual(["v5 orders[0,1,2,3] file"]);
    expect((await admin.listSidecars()).sidecars.map((s) => [s.sidecarId, s.state])).toEqual([
      ["a", "alive"],
    ]);

    // Deleting the pipeline: the next table places nothing on a.
    await admin.deletePipeline("orders-to-file");
    expect((await a.waitForTable("v6")).slice(4)).toEqual(["v6"]);
    expect((await admin.listPipelines()).pipelines).toEqual([]);

    // Stopping the router ends open heartbeat streams cleanly.
    const address = router.address;
    await stop();
    expect((await a.waitForStatus()).code).toBe(grpc.status.OK);

    // A router that is gone is ROUTER_UNAVAILABLE to the CLI (exit code 2 there).
    const gone = new AdminApi(address, 1000);
    try {
      await expect(gone.listPipelines()).rejects.toMatchObject({ code: "ROUTER_UNAVAILABLE" });
    } finally {
      gone.close();
    }
  });
  it("lists what the table publishes during a hand-off: the new owner's partitions are pending until the old one let go", async () => {
    const file = path.join(tmp, "state", "router.json");
    const { router, admin } = await start({ store: `file:${file}` });
    await admin.applyPipeline({ definition: partitionedToFile(path.join(tmp, "out")) });
    const a = sidecar(router.address, "a", [source("orders", [0, 1, 2, 3])]);
    await a.register();
    a.connect();
    await a.waitForTable("v2 orders[0,1,2,3] file");
    // a drains slowly: it keeps reading 2 and 3 after the table took them away.
    a.holding = [2, 3];
    const b = sidecar(router.address, "b", [source("orders", [0, 1, 2, 3])]);
    await b.register();
    b.connect();
    await a.waitForTable("v3 orders[0,1] file");
    await b.waitForTable(/^v3/);
    const sources = async () =>
      (await admin.listAssignments()).assignments
        .filter((x) => x.stage === "orders")
        .map((x) => [x.sidecarId, x.partitions, x.placement, x.pendingPartitions, x.pendingFrom]);
    // A standby answers from the committed state alone; it must mark the same units pending.
    const committed = async () =>
      committedAssignments(await new FileStore(file).load(), file, "")
        .assignments!.filter((x) => x.stage === "orders")
        .map((x) => [x.sidecarId, x.partitions, x.placement, x.pendingPartitions, x.pendingFrom]);
    // Before: b was listed with [2, 3] although no table gave them to it.
    expect(await committed()).toEqual(await sources());
    expect(await sources()).toEqual([
      ["a", [0, 1], "published", [], []],
      ["b", [], "intended", [2, 3], ["a"]],
    ]);
    // a lets go of 3 only: 3 is published to b, 2 still waits.
    a.holding = [2];
    a.beat();
    await b.waitForTable(/^v\d+ orders\[3\] file$/);
    expect(await sources()).toEqual([
      ["a", [0, 1], "published", [], []],
      ["b", [3], "published", [2], ["a"]],
    ]);
    expect(await committed()).toEqual(await sources());
    a.holding = [];
    a.beat();
    await b.waitForTable(/^v\d+ orders\[2,3\] file$/);
    expect(await sources()).toEqual([
      ["a", [0, 1], "published", [], []],
      ["b", [2, 3], "published", [], []],
    ]);
    expect(await committed()).toEqual(await sources());
  });

  it("rejects an invalid pipeline with INVALID_ARGUMENT listing every problem, and applies nothing", async () => {
    const { admin } = await start();
    const err = await admin
      .applyPipeline({
        definition:
          "name: Not A Name\nsource: { stage: orders, colour: red }\nsteps: [ { builtin: nope } ]\n",
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ConveyorError);
    const e = err as ConveyorError;
    expect(e.code).toBe("CONFIG_INVALID");
    expect(e.details.grpcCode).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.message).toContain('missing required field "sink"');
    expect(e.message).toContain('unknown field "colour"');
    expect(e.message).toContain("/name");
    expect((await admin.listPipelines()).pipelines).toEqual([]);
    expect((await admin.listAssignments()).generation).toBe(0);

    await expect(admin.deletePipeline("nope")).rejects.toMatchObject({ code: "PIPELINE_NOT_FOUND" });
    await expect(admin.getPipelineStatus("nope")).rejects.toMatchObject({ code: "PIPELINE_NOT_FOUND" });
  });

  it("ends the heartbeat of an unknown sidecar with NOT_FOUND, and serves it once registered", async () => {
    const { router } = await start();
    const ghost = sidecar(router.address, "ghost", [source("orders")]);
    ghost.connect();
    const status = await ghost.waitForStatus();
    expect(status.code).toBe(grpc.status.NOT_FOUND);
    expect(status.details).toBe("unknown sidecar ghost; register first");

    await ghost.register();
    ghost.connect();
    // No pipelines: just the (empty) table.
    expect(await ghost.waitForTable("v0")).toEqual(["v0"]);
  });

  it("restarts with the file store: same pipelines, same generation, same owners once sidecars return", async () => {
    const store = `file:${path.join(tmp, "state", "router.json")}`;
    const definition =
      "name: single\nsource: { stage: orders }\nsink: { builtin: file, config: { dir: /tmp/x } }\n";
    {
      const { router, admin } = await start({ store });
      await admin.applyPipeline({ definition });
      // b registers first, so b owns the (unpartitioned) source although "a" sorts first.
      await sidecar(router.address, "b", [source("orders")]).register();
      await sidecar(router.address, "a", [source("orders")]).register();
      const before = await admin.listAssignments();
      expect(before.generation).toBe(2);
      expect(before.assignments.filter((x) => x.stage === "orders").map((x) => x.sidecarId)).toEqual(["b"]);
      for (const s of sidecars.splice(0)) s.close();
      await stop();
    }

    const { router, admin } = await start({ store });
    expect((await admin.listPipelines()).pipelines.map((p) => [p.name, p.state])).toEqual([
      ["single", "pending"],
    ]);
    expect((await admin.listAssignments()).generation).toBe(2);

    // a is back first, but the source is held for b (so nothing changes) ...
    const a = sidecar(router.address, "a", [source("orders")]);
    expect((await a.register()).generation).toBe(2);
    const held = await admin.listAssignments();
    expect(held.assignments.filter((x) => x.stage === "orders")).toEqual([]);
    // ... and b gets it back when it returns.
    await sidecar(router.address, "b", [source("orders")]).register();
    const after = await admin.listAssignments();
    expect(after.generation).toBe(3);
    expect(after.assignments.filter((x) => x.stage === "orders").map((x) => x.sidecarId)).toEqual(["b"]);
  });

  it("after a restart, sends returning sidecars the table from before and re-plans once all are back, keeping every generation", async () => {
    const store = `file:${path.join(tmp, "state", "router.json")}`;
    const sink: LocalService = { ...source("out"), service: "conveyor.v1.Sink", kind: "STAGE_KIND_SINK" };
    const definition = "name: kept\nsource: { stage: orders }\nsink: { stage: out }\n";
    const generations = (t: RoutingTable__Output): string[] =>
      t.pipelines.flatMap((p) => [
        `${p.pipeline}@${String(p.generation)}`,
        ...p.stages.flatMap((st) =>
          st.instances.map((i) => `${st.name}@${i.sidecarId}:${String(i.generation)}`),
        ),
      ]);
    let before: RoutingTable__Output;
    {
      const { router, admin } = await start({ store });
      await admin.applyPipeline({ definition });
      const a = sidecar(router.address, "a", [source("orders")]);
      const b = sidecar(router.address, "b", [sink]);
      await a.register();
      await b.register();
      a.connect();
      b.connect();
      await a.waitForTable(/ orders\[\]$/);
      await b.waitForTable(/ out$/);
      before = a.tables.at(-1)!;
      for (const s of sidecars.splice(0)) s.close();
      await stop();
    }
    expect(generations(before)).toEqual(["kept@2", "orders@a:2", "out@b:2"]);

    const { router, admin } = await start({ store });
    // b is back first: no re-plan without a (which would leave the source out and move every
    // generation); b gets the table it routed on.
    const b = sidecar(router.address, "b", [sink]);
    await b.register();
    b.connect();
    await b.waitForTable(`v${String(before.version)} out`);
    expect((await admin.listAssignments()).generation).toBe(Number(before.generation));
    // a is back: one commit, a new version, the same pipeline and instance generations, so
    // neither sidecar restarts a reader or fences the other's batches.
    const a = sidecar(router.address, "a", [source("orders")]);
    await a.register();
    a.connect();
    await a.waitForTable(/^v3 orders\[\]$/);
    await b.waitForTable(/^v3 out$/);
    expect(generations(a.tables.at(-1)!)).toEqual(generations(before));
    expect(generations(b.tables.at(-1)!)).toEqual(generations(before));
  });

  it("refuses to start when PIPELINES_DIR has an invalid file, listing every error", async () => {
    const dir = path.join(tmp, "pipelines");
    await fsp.mkdir(dir);
    await fsp.writeFile(
      path.join(dir, "good.yaml"),
      "name: good\nsource: { stage: a }\nsink: { stage: b }\n",
    );
    await fsp.writeFile(path.join(dir, "bad.yaml"), "name: bad\nsource: { stage: a }\n");
    await fsp.writeFile(path.join(dir, "worse.json"), "{");
    await expect(startRouter(routerConfig({ pipelinesDir: dir }))).rejects.toThrow(
      /bad\.yaml[\s\S]*missing required field "sink"[\s\S]*worse\.json/,
    );

    await fsp.rm(path.join(dir, "bad.yaml"));
    await fsp.rm(path.join(dir, "worse.json"));
    const { admin } = await start({ pipelinesDir: dir });
    expect((await admin.listPipelines()).pipelines.map((p) => p.name)).toEqual(["good"]);
  });

  it("marks a silent sidecar dead and moves its source to a live one", async () => {
    const { router, admin } = await start({ heartbeatIntervalSecs: 0.2, deadAfterMissed: 2 });
    await admin.applyPipeline({
      definition: "name: p\nsource: { stage: orders }\nsink: { builtin: file, config: { dir: /tmp/x } }\n",
    });
    const a = sidecar(router.address, "a", [source("orders")]);
    const b = sidecar(router.address, "b", [source("orders")]);
    await a.register();
    await b.register();
    b.connect();
    expect(await b.waitForTable(/^v\d+$/)).toHaveLength(1);

    // b keeps beating, a stays silent: after 400 ms (and the next sweep) a is dead.
    const beating = setInterval(() => b.beat(), 100);
    try {
      await b.waitForTable(/^v\d+ orders\[\] file$/);
      const listed = await admin.listSidecars();
      expect(listed.sidecars.map((s) => [s.sidecarId, s.state])).toEqual([
        ["a", "dead"],
        ["b", "alive"],
      ]);
    } finally {
      clearInterval(beating);
    }
  });
});

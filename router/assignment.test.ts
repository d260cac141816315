import type { PipelineSpec } from "../src/config/pipeline";
import type { StageKind } from "../src/stages/contract";
import {
  assignmentsOf,
  diffAssignments,
  dividePartitions,
  planPipelines,
  pipelineRoute,
  type CandidateService,
  type Plan,
  type PreviousOwner,
  type SidecarCandidate,
} from "./assignment";

function svc(kind: StageKind, stageName: string, partitions: number[] = [], port = 50051): CandidateService {
  const service = {
    source: "conveyor.v1.Source",
    transform: "conveyor.v1.Transform",
    sink: "conveyor.v1.Sink",
  }[kind];
  return { endpoint: `127.0.0.1:${port}`, service, kind, stageName, partitions };
}

function sidecar(id: string, ...services: CandidateService[]): SidecarCandidate {
  return { id, peerAddress: `${id}.pod:9091`, services };
}

const ordersEnrich: PipelineSpec = {
  name: "orders-enrich",
  source: { stage: "orders" },
  steps: [{ stage: "enrich" }],
  sink: { stage: "store" },
};

function stage(plan: Plan, pipeline: string, name: string) {
  const p = plan.pipelines.find((x) => x.pipeline === pipeline);
  const s = p?.stages.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no stage ${pipeline}/${name} in plan`);
  return s;
}

function ids(plan: Plan, pipeline: string, name: string): string[] {
  return stage(plan, pipeline, name).instances.map((i) => i.sidecarId);
}

function partitionsOf(plan: Plan, pipeline: string, name: string): Record<string, number[]> {
  return Object.fromEntries(stage(plan, pipeline, name).instances.map((i) => [i.sidecarId, i.partitions]));
}

describe("planPipelines", () => {
  it("matches a user stage by name and by the kind of its position", () => {
    const plan = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [
        sidecar("a", svc("source", "orders"), svc("transform", "enrich", [], 50052)),
        sidecar("b", svc("sink", "store")),
      ],
      previous: [],
    });
    const p = plan.pipelines[0];
    expect(p.state).toBe("ready");
    expect(p.reasons).toEqual([]);
    expect(ids(plan, "orders-enrich", "orders")).toEqual(["a"]);
    expect(ids(plan, "orders-enrich", "enrich")).toEqual(["a"]);
    expect(ids(plan, "orders-enrich", "store")).toEqual(["b"]);
    expect(stage(plan, "orders-enrich", "enrich").instances[0]).toEqual({
      sidecarId: "a",
      peerAddress: "a.pod:9091",
      serviceEndpoint: "127.0.0.1:50052",
      serviceName: "conveyor.v1.Transform",
      partitions: [],
    });
  });

  it("ignores a service with the right name but the wrong kind, and says so", () => {
    const plan = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [
        sidecar("a", svc("source", "orders"), svc("sink", "enrich"), svc("sink", "store", [], 50053)),
      ],
      previous: [],
    });
    const p = plan.pipelines[0];
    expect(p.state).toBe("pending");
    expect(p.reasons).toEqual(['no sidecar runs transform "enrich" (sidecar "a" has a sink named "enrich")']);
    expect(ids(plan, "orders-enrich", "enrich")).toEqual([]);
  });

  it("runs a transform and a sink on every candidate, sorted by sidecar id", () => {
    const plan = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [
        sidecar("c", svc("transform", "enrich"), svc("sink", "store", [], 50052)),
        sidecar("a", svc("source", "orders"), svc("transform", "enrich", [], 50052)),
        sidecar("b", svc("transform", "enrich"), svc("sink", "store", [], 50052)),
      ],
      previous: [],
    });
    expect(ids(plan, "orders-enrich", "enrich")).toEqual(["a", "b", "c"]);
    expect(ids(plan, "orders-enrich", "store")).toEqual(["b", "c"]);
  });

  it("gives an unpartitioned source exactly one instance and keeps it with its previous owner", () => {
    const everywhere = (id: string) =>
      sidecar(
        id,
        svc("source", "orders"),
        svc("transform", "enrich", [], 50052),
        svc("sink", "store", [], 50053),
      );
    const first = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [everywhere("b"), everywhere("c")],
      previous: [],
    });
    expect(ids(first, "orders-enrich", "orders")).toEqual(["b"]);

    // "a" sorts first, but the source stays where it runs.
    const previous: PreviousOwner[] = assignmentsOf(first);
    const second = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [everywhere("a"), everywhere("b"), everywhere("c")],
      previous,
    });
    expect(ids(second, "orders-enrich", "orders")).toEqual(["b"]);

    // The owner left: the first candidate by id takes over.
    const third = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [everywhere("c"), everywhere("a")],
      previous: assignmentsOf(second),
    });
    expect(ids(third, "orders-enrich", "orders")).toEqual(["a"]);
  });

  it("holds a source for a reserved owner instead of moving it", () => {
    const everywhere = (id: string) =>
      sidecar(
        id,
        svc("source", "orders"),
        svc("transform", "enrich", [], 50052),
        svc("sink", "store", [], 50053),
      );
    const plan = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [everywhere("a")],
      previous: [{ pipeline: "orders-enrich", stage: "orders", sidecarId: "b", partitions: [] }],
      reserved: new Set(["b"]),
    });
    expect(ids(plan, "orders-enrich", "orders")).toEqual([]);
    expect(plan.pipelines[0].state).toBe("pending");
    expect(plan.pipelines[0].reasons).toEqual([
      'source "orders" is held for sidecar "b" until it re-registers',
    ]);
  });

  it("divides a partitioned source among its candidates, each partition exactly once", () => {
    const parts = [0, 1, 2, 3, 4, 5];
    const sidecars = ["a", "b", "c"].map((id) =>
      sidecar(
        id,
        svc("source", "orders", parts),
        svc("transform", "enrich", [], 50052),
        svc("sink", "store", [], 50053),
      ),
    );
    const plan = planPipelines({ pipelines: [ordersEnrich], sidecars, previous: [] });
    expect(partitionsOf(plan, "orders-enrich", "orders")).toEqual({ a: [0, 1], b: [2, 3], c: [4, 5] });
  });

  it("moves as few partitions as possible when a sidecar leaves or joins", () => {
    const parts = [0, 1, 2, 3];
    const node = (id: string) =>
      sidecar(
        id,
        svc("source", "orders", parts),
        svc("transform", "enrich", [], 50052),
        svc("sink", "store", [], 50053),
      );
    const two = planPipelines({ pipelines: [ordersEnrich], sidecars: [node("a"), node("b")], previous: [] });
    expect(partitionsOf(two, "orders-enrich", "orders")).toEqual({ a: [0, 1], b: [2, 3] });

    // c joins: it takes one partition from one owner; everything else stays.
    const three = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [node("a"), node("b"), node("c")],
      previous: assignmentsOf(two),
    });
    expect(partitionsOf(three, "orders-enrich", "orders")).toEqual({ a: [0, 1], b: [2], c: [3] });

    // b leaves: only its partition moves, to whoever has room.
    const afterLeave = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [node("a"), node("c")],
      previous: assignmentsOf(three),
    });
    expect(partitionsOf(afterLeave, "orders-enrich", "orders")).toEqual({ a: [0, 1], c: [2, 3] });

    // Every partition has exactly one owner throughout.
    for (const plan of [two, three, afterLeave]) {
      const owned = Object.values(partitionsOf(plan, "orders-enrich", "orders"))
        .flat()
        .sort();
      expect(owned).toEqual(parts);
    }
  });

  it("runs a built-in sink on the sidecars of the stage before it", () => {
    const spec: PipelineSpec = {
      name: "to-file",
      source: { stage: "orders" },
      steps: [{ stage: "enrich" }],
      sink: { builtin: "file", config: { dir: "/data/out" } },
    };
    const plan = planPipelines({
      pipelines: [spec],
      sidecars: [
        sidecar("a", svc("source", "orders")),
        sidecar("b", svc("transform", "enrich")),
        sidecar("c", svc("transform", "enrich")),
      ],
      previous: [],
    });
    expect(plan.pipelines[0].state).toBe("ready");
    expect(stage(plan, "to-file", "file").instances).toEqual([
      {
        sidecarId: "b",
        peerAddress: "b.pod:9091",
        serviceEndpoint: "",
        serviceName: "builtin:file",
        partitions: [],
      },
      {
        sidecarId: "c",
        peerAddress: "c.pod:9091",
        serviceEndpoint: "",
        serviceName: "builtin:file",
        partitions: [],
      },
    ]);
    const route = pipelineRoute(plan.pipelines[0]!);
    const fileRoute = route.stages?.[2];
    expect(fileRoute).toMatchObject({
      index: 2,
      name: "file",
      kind: "STAGE_KIND_SINK",
      builtin: "file",
      builtinConfigJson: '{"dir":"/data/out"}',
    });
    expect(route.stages?.[0]).toMatchObject({
      builtin: "",
      builtinConfigJson: "",
      kind: "STAGE_KIND_SOURCE",
    });
  });

  it("starts no source while a later stage has no sidecar, but routes the stages it can", () => {
    const plan = planPipelines({
      pipelines: [ordersEnrich],
      sidecars: [sidecar("a", svc("source", "orders"), svc("sink", "store", [], 50052))],
      previous: [],
    });
    const p = plan.pipelines[0];
    expect(p.state).toBe("pending");
    expect(p.reasons).toEqual(['no sidecar runs transform "enrich"']);
    expect(ids(plan, "orders-enrich", "orders")).toEqual([]);
    expect(ids(plan, "orders-enrich", "store")).toEqual(["a"]);
    expect(assignmentsOf(plan).map((a) => a.stage)).toEqual(["store"]);
  });

  it("plans several pipelines independently, sorted by name", () => {
    const other: PipelineSpec = {
      name: "audit",
      source: { stage: "clicks" },
      sink: { builtin: "file", name: "audit-file", config: { dir: "/x" } },
    };
    const plan = planPipelines({
      pipelines: [ordersEnrich, other],
      sidecars: [sidecar("a", svc("source", "clicks")), sidecar("b", svc("source", "orders"))],
      previous: [],
    });
    expect(plan.pipelines.map((p) => [p.pipeline, p.state])).toEqual([
      ["audit", "ready"],
      ["orders-enrich", "pending"],
    ]);
    expect(ids(plan, "audit", "clicks")).toEqual(["a"]);
    expect(ids(plan, "audit", "audit-file")).toEqual(["a"]);
    expect(ids(plan, "orders-enrich", "orders")).toEqual([]);
    expect(plan.pipelines[1].reasons).toEqual([
      'no sidecar runs transform "enrich"',
      'no sidecar runs sink "store"',
    ]);
  });

  it("puts a built-in source on one alive sidecar, sticky like a user source", () => {
    const spec: PipelineSpec = { name: "gen", source: { builtin: "ticker" }, sink: { stage: "store" } };
    const sidecars = [sidecar("b", svc("sink", "store")), sidecar("a", svc("sink", "store"))];
    const first = planPipelines({ pipelines: [spec], sidecars, previous: [] });
    expect(ids(first, "gen", "ticker")).toEqual(["a"]);
    expect(stage(first, "gen", "ticker").instances[0].serviceName).toBe("builtin:ticker");
    const second = planPipelines({
      pipelines: [spec],
      sidecars,
      previous: [{ pipeline: "gen", stage: "ticker", sidecarId: "b", partitions: [] }],
    });
    expect(ids(second, "gen", "ticker")).toEqual(["b"]);
  });
});

describe("dividePartitions", () => {
  it("gives partitions only to candidates that can read them", () => {
    const d = dividePartitions(
      [
        { id: "a", partitions: [0, 1, 2] },
        { id: "b", partitions: [3] },
      ],
      new Map(),
      new Set(),
    );
    expect(Object.fromEntries(d.owners)).toEqual({ a: [0, 1, 2], b: [3] });
  });

  it("keeps a reserved owner's partitions free", () => {
    const d = dividePartitions([{ id: "a", partitions: [0, 1] }], new Map([[1, "gone"]]), new Set(["gone"]));
    expect(Object.fromEntries(d.owners)).toEqual({ a: [0] });
    expect(Object.fromEntries(d.held)).toEqual({ gone: [1] });
  });
});

describe("dividePartitions when pods come and go", () => {
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  /** Divides `partitions` among pods that can all read all of them; returns partition → owner. */
  function divide(pods: string[], partitions: number, previous: Map<number, string>): Map<number, string> {
    const d = dividePartitions(
      pods.map((id) => ({ id, partitions: range(partitions) })),
      previous,
      new Set(),
    );
    const owner = new Map<number, string>();
    for (const [id, ps] of d.owners) for (const p of ps) owner.set(p, id);
    expect([...owner.keys()].sort((a, b) => a - b)).toEqual(range(partitions));
    const counts = pods.map((id) => d.owners.get(id)?.length ?? 0);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    return owner;
  }
  const pods = (n: number): string[] => range(n).map((i) => `pod-${i}`);
  const cases = [4, 7, 8, 12, 16, 30].flatMap((partitions) =>
    [1, 2, 3, 4, 5].map((n) => [partitions, n] as const),
  );

  it.each(cases)(
    "%i partitions, %i pods + 1 joining: only the joiner's share moves, all of it to the joiner",
    (partitions, n) => {
      const before = divide(pods(n), partitions, new Map());
      const joiner = `pod-${n}`;
      const after = divide([...pods(n), joiner], partitions, before);
      const moved = range(partitions).filter((p) => after.get(p) !== before.get(p));
      for (const p of moved) expect(after.get(p)).toBe(joiner);
      expect(moved.length).toBe(Math.floor(partitions / (n + 1)));
    },
  );

  it.each(cases.filter(([, n]) => n > 1))(
    "%i partitions, %i pods, one leaving: only the leaver's partitions move",
    (partitions, n) => {
      const before = divide(pods(n), partitions, new Map());
      const leaver = `pod-${n - 1}`;
      const after = divide(pods(n - 1), partitions, before);
      for (const p of range(partitions)) {
        if (before.get(p) === leaver) expect(after.get(p)).not.toBe(leaver);
        else expect(after.get(p)).toBe(before.get(p));
      }
    },
  );

  it("moves nothing when the same pods come again, whatever their order", () => {
    const before = divide(["c", "a", "b"], 10, new Map());
    expect(divide(["b", "c", "a"], 10, before)).toEqual(before);
  });
});

describe("diffAssignments", () => {
  it("tells gained, lost and changed assignments apart", () => {
    const node = (id: string) =>
      sidecar(
        id,
        svc("source", "orders", [0, 1]),
        svc("transform", "enrich", [], 50052),
        svc("sink", "store", [], 50053),
      );
    const one = assignmentsOf(
      planPipelines({ pipelines: [ordersEnrich], sidecars: [node("a")], previous: [] }),
    );
    const two = assignmentsOf(
      planPipelines({ pipelines: [ordersEnrich], sidecars: [node("a"), node("b")], previous: one }),
    );
    const diff = diffAssignments(one, two);
    expect(diff.gained.map((a) => `${a.stage}@${a.sidecarId}`).sort()).toEqual([
      "enrich@b",
      "orders@b",
      "store@b",
    ]);
    expect(diff.changed.map((a) => `${a.stage}@${a.sidecarId}:${a.partitions.join(",")}`)).toEqual([
      "orders@a:0",
    ]);
    expect(diff.lost).toEqual([]);
    expect(diffAssignments(two, one).lost.map((a) => a.sidecarId)).toEqual(["b", "b", "b"]);
  });
});

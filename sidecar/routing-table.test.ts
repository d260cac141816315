import { RoutingTable } from "./routing-table";
import { makeRecord } from "../src/records";
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import type { StageInstance__Output } from "../src/generated/conveyor/v1/StageInstance";

const inst = (sidecarId: string, endpoint = ""): StageInstance__Output => ({
  sidecarId,
  peerAddress: `${sidecarId}:9091`,
  serviceEndpoint: endpoint,
  serviceName: "conveyor.v1.Transform",
  partitions: [],
  generation: 7,
});

function table(transformInstances: StageInstance__Output[]): RoutingTable__Output {
  return {
    version: 7,
    generation: 7,
    pipelines: [
      {
        pipeline: "p",
        generation: 7,
        settings: {
          batchSize: 50,
          maxInFlightRecords: 0,
          maxInFlightBytes: 0,
          maxRecordBytes: 1000,
          stageTimeoutMs: 0,
          ordering: "none",
          retry: { maxRetries: 2, backoffMs: 1, maxBackoffMs: 5 },
        },
        stages: [
          {
            index: 0,
            name: "gen",
            kind: "STAGE_KIND_SOURCE",
            builtin: "",
            builtinConfigJson: "",
            deadLetter: false,
            instances: [inst("a", "127.0.0.1:50051")],
          },
          {
            index: 1,
            name: "enrich",
            kind: "STAGE_KIND_TRANSFORM",
            builtin: "",
            builtinConfigJson: "",
            deadLetter: false,
            instances: transformInstances,
          },
          {
            index: 2,
            name: "out",
            kind: "STAGE_KIND_SINK",
            builtin: "file",
            builtinConfigJson: '{"dir":"/tmp/x"}',
            deadLetter: false,
            instances: [inst("b")],
          },
        ],
      },
    ],
  };
}

const rec = (id: string, key = ""): ReturnType<typeof makeRecord> =>
  makeRecord({ id, key: Buffer.from(key), value: Buffer.from("{}") });

describe("RoutingTable", () => {
  it("marks the stages this sidecar runs as local and keeps everything else remote", () => {
    const t = RoutingTable.fromProto(table([inst("b", "127.0.0.1:50052")]), "a");
    expect(t.stageAt("p", 0)?.local?.serviceEndpoint).toBe("127.0.0.1:50051");
    expect(t.stageAt("p", 1)?.local).toBeUndefined();
    expect(t.localStages().map((s) => s.name)).toEqual(["gen"]);
    expect(t.stageAt("p", 3)).toBeUndefined();
  });

  it("fills unset settings with defaults and keeps the set ones", () => {
    const s = RoutingTable.fromProto(table([]), "a").pipeline("p").settings;
    expect(s.batchSize).toBe(50);
    expect(s.maxRecordBytes).toBe(1000);
    expect(s.maxInFlightRecords).toBe(10_000);
  });

  it("parses built-in config", () => {
    const out = RoutingTable.fromProto(table([]), "b").stageByName("p", "out");
    expect(out).toMatchObject({ builtin: "file", builtinConfig: { dir: "/tmp/x" }, kind: "sink" });
    expect(out.local?.sidecarId).toBe("b");
  });

  it("keeps records local when this sidecar runs the stage", () => {
    const t = RoutingTable.fromProto(table([inst("a", "x:1"), inst("b", "y:1")]), "a");
    const groups = t.route(t.stageAt("p", 1)!, [rec("1", "k1"), rec("2", "k2")]);
    expect(groups).toHaveLength(1);
    expect(groups[0]!.destination.local).toBe(true);
  });

  it("sends one key to one instance (consistent by key) across batches", () => {
    const t = RoutingTable.fromProto(table([inst("b"), inst("c"), inst("d")]), "a");
    const stage = t.stageAt("p", 1)!;
    const where = (key: string): string => t.route(stage, [rec("x", key)])[0]!.destination.instance.sidecarId;
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    const first = keys.map(where);
    expect(keys.map(where)).toEqual(first);
    expect(new Set(first).size).toBe(3);
  });

  it("rotates keyless batches over the instances", () => {
    const t = RoutingTable.fromProto(table([inst("b"), inst("c")]), "a");
    const stage = t.stageAt("p", 1)!;
    const seen = [0, 1, 2, 3].map(() => t.route(stage, [rec("x")])[0]!.destination.instance.sidecarId);
    expect(new Set(seen)).toEqual(new Set(["b", "c"]));
  });

  it("spreads keys by rendezvous over sidecar ids: the same key picks the same instance whatever the order", () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);
    const owners = (ids: string[]): string[] => {
      const t = RoutingTable.fromProto(table(ids.map((id) => inst(id))), "a");
      const stage = t.stageAt("p", 1)!;
      const owner = new Map<string, string>();
      for (const g of t.route(
        stage,
        keys.map((k) => rec(k, k)),
      ))
        for (const r of g.records) owner.set(r.id, g.destination.instance.sidecarId);
      return keys.map((k) => owner.get(k)!);
    };
    const three = owners(["b", "c", "d"]);
    expect(owners(["d", "b", "c"])).toEqual(three);
    // A fourth instance takes about a quarter of the keys, and only from the others to itself.
    const four = owners(["b", "c", "d", "e"]);
    const moved = keys.filter((_, i) => four[i] !== three[i]);
    expect(moved.length / keys.length).toBeGreaterThan(0.18);
    expect(moved.length / keys.length).toBeLessThan(0.32);
    for (let i = 0; i < keys.length; i++) if (four[i] !== three[i]) expect(four[i]).toBe("e");
  });

  it("keeps a keyed batch's records in their order within each instance's group", () => {
    const t = RoutingTable.fromProto(table([inst("b"), inst("c"), inst("d")]), "a");
    const records = Array.from({ length: 300 }, (_, i) => rec(String(i), `k${i % 7}`));
    const groups = t.route(t.stageAt("p", 1)!, records);
    expect(groups.reduce((n, g) => n + g.records.length, 0)).toBe(300);
    for (const g of groups) {
      const ids = g.records.map((r) => Number(r.id));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    }
  });

  it("round-robins keyless batches, each batch whole, over every instance in turn", () => {
    const t = RoutingTable.fromProto(table([inst("b"), inst("c"), inst("d")]), "a");
    const stage = t.stageAt("p", 1)!;
    const seen = Array.from({ length: 6 }, () => {
      const groups = t.route(stage, [rec("x"), rec("y"), rec("z")]);
      expect(groups).toHaveLength(1);
      expect(groups[0]!.records).toHaveLength(3);
      return groups[0]!.destination.instance.sidecarId;
    });
    expect(seen.slice(0, 3).sort()).toEqual(["b", "c", "d"]);
    expect(seen.slice(3)).toEqual(seen.slice(0, 3));
  });

  it("fails with NO_ROUTE when nobody runs the stage, and PIPELINE_NOT_FOUND for unknown pipelines", () => {
    const t = RoutingTable.fromProto(table([]), "a");
    expect(() => t.route(t.stageAt("p", 1)!, [rec("1")])).toThrow(
      expect.objectContaining({ code: "NO_ROUTE" }),
    );
    expect(() => t.stageAt("nope", 0)).toThrow(expect.objectContaining({ code: "PIPELINE_NOT_FOUND" }));
    expect(() => t.stageByName("p", "nope")).toThrow(expect.objectContaining({ code: "STAGE_NOT_FOUND" }));
  });

  it("round-trips through toProto", () => {
    const proto = table([inst("b", "127.0.0.1:50052")]);
    const again = RoutingTable.fromProto(
      RoutingTable.fromProto(proto, "a").toProto() as RoutingTable__Output,
      "a",
    );
    expect(again.stageByName("p", "out").builtinConfig).toEqual({ dir: "/tmp/x" });
    expect(again.version).toBe(7);
  });
});

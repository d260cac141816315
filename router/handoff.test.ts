import type { Plan, StageInstancePlan, StagePlacement } from "./assignment";
import {
  ownersAfter,
  placementOf,
  publishablePlan,
  unitKey,
  type Handoff,
  type SourceClaim,
} from "./handoff";
import { DEFAULT_SETTINGS } from "../src/config/pipeline";

const inst = (sidecarId: string, partitions: number[] = []): StageInstancePlan => ({
  sidecarId,
  peerAddress: `${sidecarId}:9091`,
  serviceEndpoint: "127.0.0.1:50051",
  serviceName: "conveyor.v1.Source",
  partitions,
});

function plan(sources: StageInstancePlan[], sinks: StageInstancePlan[] = [inst("s")]): Plan {
  const stage = (index: number, name: string, kind: "source" | "sink", instances: StageInstancePlan[]) =>
    ({ index, name, kind, instances }) as StagePlacement;
  return {
    pipelines: [
      {
        pipeline: "p",
        state: "ready",
        reasons: [],
        settings: DEFAULT_SETTINGS,
        stages: [stage(0, "src", "source", sources), stage(1, "out", "sink", sinks)],
      },
    ],
  };
}

const owners = (entries: Array<[number, string]>): Map<string, string> =>
  new Map(entries.map(([p, id]) => [unitKey("p", "src", p), id]));
const claim = (sidecarId: string, partitions: number[]): SourceClaim => ({
  sidecarId,
  pipeline: "p",
  stage: "src",
  partitions,
});
const sourceOf = (p: Plan) => p.pipelines[0]!.stages[0]!.instances.map((i) => [i.sidecarId, i.partitions]);

describe("publishablePlan: a source unit moves only once its old owner let go", () => {
  it("withholds a moving partition from its new owner while the old owner still claims it", () => {
    const intended = plan([inst("a", [0, 1]), inst("b", [2, 3])]);
    const { plan: published, waiting } = publishablePlan(
      intended,
      owners([
        [0, "a"],
        [1, "a"],
        [2, "a"],
        [3, "a"],
      ]),
      [claim("a", [0, 1, 2, 3])],
    );
    expect(sourceOf(published)).toEqual([["a", [0, 1]]]);
    expect(waiting.map((w) => [w.partition, w.from, w.to])).toEqual([
      [2, "a", "b"],
      [3, "a", "b"],
    ]);
    expect(published.pipelines[0]!.state).toBe("pending");
    expect(published.pipelines[0]!.reasons).toEqual([
      'partition 2 of source "src" moves from sidecar "a" to "b" once "a" has stopped reading it',
      'partition 3 of source "src" moves from sidecar "a" to "b" once "a" has stopped reading it',
    ]);
    // Later stages pass unchanged.
    expect(published.pipelines[0]!.stages[1]).toBe(intended.pipelines[0]!.stages[1]);
  });

  it("publishes the partitions once the old owner no longer claims them (or is dead: no claims)", () => {
    const intended = plan([inst("a", [0, 1]), inst("b", [2, 3])]);
    const own = owners([
      [0, "a"],
      [1, "a"],
      [2, "a"],
      [3, "a"],
    ]);
    expect(sourceOf(publishablePlan(intended, own, [claim("a", [0, 1])]).plan)).toEqual([
      ["a", [0, 1]],
      ["b", [2, 3]],
    ]);
    expect(sourceOf(publishablePlan(intended, own, []).plan)).toEqual([
      ["a", [0, 1]],
      ["b", [2, 3]],
    ]);
  });

  it("treats an unpartitioned source as one unit", () => {
    const intended = plan([inst("b")]);
    const own = owners([[-1, "a"]]);
    const held = publishablePlan(intended, own, [claim("a", [])]);
    expect(sourceOf(held.plan)).toEqual([]);
    expect(held.plan.pipelines[0]!.reasons).toEqual([
      'source "src" moves from sidecar "a" to "b" once "a" has stopped reading it',
    ]);
    expect(sourceOf(publishablePlan(intended, own, []).plan)).toEqual([["b", []]]);
  });

  it("ignores the claim of a sidecar that is not the recorded owner (a zombie fenced by the new owner's generation)", () => {
    const intended = plan([inst("b", [0])]);
    expect(sourceOf(publishablePlan(intended, owners([[0, "b"]]), [claim("a", [0])]).plan)).toEqual([
      ["b", [0]],
    ]);
  });

  it("with no recorded owner (a router that just started), a claimer is the owner", () => {
    const intended = plan([inst("b", [0])]);
    expect(sourceOf(publishablePlan(intended, new Map(), [claim("a", [0])]).plan)).toEqual([]);
  });

  it("ownersAfter: published units belong to their instance; a withheld unit keeps its claiming owner", () => {
    const published = plan([inst("a", [0, 1])]);
    const next = ownersAfter(
      published,
      owners([
        [2, "a"],
        [3, "c"],
      ]),
      [claim("a", [0, 1, 2]), claim("c", [])],
    );
    expect([...next].sort()).toEqual(
      [
        [unitKey("p", "src", 0), "a"],
        [unitKey("p", "src", 1), "a"],
        [unitKey("p", "src", 2), "a"],
      ].sort(),
    );
  });
});

describe("placementOf: an intended assignment against what the table publishes", () => {
  const row = (sidecarId: string, partitions: number[]) => ({
    pipeline: "p",
    stage: "src",
    sidecarId,
    partitions,
  });
  const wait = (partition: number, from: string, to: string): Handoff => ({
    pipeline: "p",
    stage: "src",
    partition,
    from,
    to,
  });

  it("is published as planned when no hand-off waits for its sidecar", () => {
    expect(placementOf(row("b", [2, 3]), [wait(1, "a", "c")])).toEqual({
      placement: "published",
      partitions: [2, 3],
      pendingPartitions: [],
      pendingFrom: [],
    });
  });

  it("lists only the published partitions and marks the withheld ones pending, with who still reads them", () => {
    expect(placementOf(row("b", [1, 2, 3]), [wait(3, "a", "b"), wait(1, "c", "b")])).toEqual({
      placement: "published",
      partitions: [2],
      pendingPartitions: [1, 3],
      pendingFrom: ["a", "c"],
    });
  });

  it("is only intended when nothing of it is published (all partitions, or an unpartitioned source, waiting)", () => {
    expect(placementOf(row("b", [2, 3]), [wait(2, "a", "b"), wait(3, "a", "b")])).toMatchObject({
      placement: "intended",
      partitions: [],
      pendingPartitions: [2, 3],
    });
    expect(placementOf(row("b", []), [wait(-1, "a", "b")])).toEqual({
      placement: "intended",
      partitions: [],
      pendingPartitions: [],
      pendingFrom: ["a"],
    });
  });
});

import { ConveyorError } from "../../src/errors";
import type { RouterState } from "../store/store";
import { committedAssignments, committedPipelines } from "./committed-views";

const flow = JSON.stringify({
  name: "flow",
  source: { stage: "gen" },
  steps: [{ stage: "enrich" }],
  sink: { stage: "out" },
});
const lone = JSON.stringify({ name: "alpha", source: { stage: "nowhere" }, sink: { stage: "out" } });
const assignment = (stageIndex: number, stage: string, sidecarId: string, generation: number) => ({
  pipeline: "flow",
  stage,
  stageIndex,
  sidecarId,
  partitions: [],
  generation,
});
const state: RouterState = {
  generation: 7,
  pipelines: [
    { name: "flow", definition: flow },
    { name: "alpha", definition: lone },
  ],
  assignments: [
    assignment(2, "out", "c", 5),
    assignment(1, "enrich", "b", 7),
    assignment(1, "enrich", "a", 6),
    assignment(0, "gen", "a", 3),
  ],
};

describe("committed views (a standby's Admin reads)", () => {
  it("lists pipelines as applied, sorted, ready only when every stage has a sidecar", () => {
    expect(committedPipelines(state, "etcd:x")).toEqual({
      pipelines: [
        { name: "alpha", stages: ["nowhere", "out"], definitionJson: lone, state: "pending" },
        { name: "flow", stages: ["gen", "enrich", "out"], definitionJson: flow, state: "ready" },
      ],
    });
    expect(committedPipelines(undefined, "etcd:x")).toEqual({ pipelines: [] });
  });

  it("lists assignments in the leader's order with their kinds and the state's generation", () => {
    const res = committedAssignments(state, "etcd:x", "flow");
    expect(res.generation).toBe(7);
    expect(res.assignments!.map((a) => [a.stage, a.sidecarId, a.kind, a.generation])).toEqual([
      ["gen", "a", "STAGE_KIND_SOURCE", 3],
      ["enrich", "a", "STAGE_KIND_TRANSFORM", 6],
      ["enrich", "b", "STAGE_KIND_TRANSFORM", 7],
      ["out", "c", "STAGE_KIND_SINK", 5],
    ]);
    expect(committedAssignments(state, "etcd:x", "").assignments).toHaveLength(4);
  });

  it("refuses an unknown pipeline with PIPELINE_NOT_FOUND, as the leader does", () => {
    expect(() => committedAssignments(state, "etcd:x", "nope")).toThrow(ConveyorError);
    expect(() => committedAssignments(state, "etcd:x", "nope")).toThrow(/no pipeline named "nope"/);
  });
});

/**
 * Admin answers computed from the committed router state alone (what etcd
 * holds), for a standby's reads (standby-admin.ts). Pure.
 *
 *   RouterState (pipelines as applied, assignments with their generations)
 *     ├─▶ ListPipelines:   names, stages, definition as applied; ready when every stage has a sidecar
 *     └─▶ ListAssignments: every assignment, in the leader's order, with the state's generation,
 *                          and its hand-off placement as of the commit (published / intended, pending partitions)
 *
 * What the leader adds and a standby cannot know (no heartbeats reach it):
 * which sidecars are alive, and the hold on stages of sidecars that have not
 * re-registered after a failover — a standby lists those assignments as
 * committed, the leader's `pending` state may still show the hold.
 */
import { pipelineStages } from "../../src/config/pipeline";
import { ConveyorError } from "../../src/errors";
import type { AssignmentInfo } from "../../src/generated/conveyor/v1/AssignmentInfo";
import type { ListAssignmentsResponse } from "../../src/generated/conveyor/v1/ListAssignmentsResponse";
import type { ListPipelinesResponse } from "../../src/generated/conveyor/v1/ListPipelinesResponse";
import { STAGE_KIND_TO_PROTO } from "../../src/stages/contract";
import { byPipelineStageSidecar } from "../admin-server";
import { placementOf } from "../handoff";
import { restoreState } from "../scheduler";
import type { RouterState } from "../store/store";

export function committedPipelines(state: RouterState | undefined, source: string): ListPipelinesResponse {
  const { pipelines } = restoreState(state, source);
  const definitions = new Map((state?.pipelines ?? []).map((p) => [p.name, p.definition]));
  const assignments = state?.assignments ?? [];
  return {
    pipelines: [...pipelines]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((spec) => {
        const stages = pipelineStages(spec);
        const placed = stages.every((s) =>
          assignments.some((a) => a.pipeline === spec.name && a.stageIndex === s.index),
        );
        return {
          name: spec.name,
          stages: stages.map((s) => s.name),
          definitionJson: definitions.get(spec.name) ?? "",
          state: placed ? "ready" : "pending",
        };
      }),
  };
}

export function committedAssignments(
  state: RouterState | undefined,
  source: string,
  pipeline: string,
): ListAssignmentsResponse {
  const { pipelines, assignments, generation } = restoreState(state, source);
  if (pipeline !== "" && !pipelines.some((p) => p.name === pipeline))
    throw new ConveyorError("PIPELINE_NOT_FOUND", `no pipeline named "${pipeline}"`, { pipeline });
  const stagesOf = new Map(pipelines.map((p) => [p.name, pipelineStages(p)]));
  const out: AssignmentInfo[] = [];
  for (const a of assignments) {
    if (pipeline !== "" && a.pipeline !== pipeline) continue;
    const stage = stagesOf.get(a.pipeline)?.[a.stageIndex];
    // An assignment of a pipeline deleted since is not committed together with it: skip.
    if (stage === undefined) continue;
    out.push({
      pipeline: a.pipeline,
      stage: a.stage,
      stageIndex: a.stageIndex,
      kind: STAGE_KIND_TO_PROTO[stage.kind],
      sidecarId: a.sidecarId,
      generation: a.generation,
      // Marked pending as the leader marks it, from the hand-offs of the same commit.
      ...placementOf(a, state?.handoffs ?? []),
    });
  }
  return { assignments: out.sort(byPipelineStageSidecar), generation };
}

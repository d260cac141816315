// Original file: proto/conveyor/v1/dataplane.proto

import type {
  StageRoute as _conveyor_v1_StageRoute,
  StageRoute__Output as _conveyor_v1_StageRoute__Output,
} from "../../conveyor/v1/StageRoute";

export interface PipelineRoute {
  pipeline?: string;
  stages?: _conveyor_v1_StageRoute[];
}

export interface PipelineRoute__Output {
  pipeline: string;
  stages: _conveyor_v1_StageRoute__Output[];
}

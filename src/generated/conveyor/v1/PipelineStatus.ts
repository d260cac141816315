// Original file: proto/conveyor/v1/router.proto

import type { StageStatusSummary as _conveyor_v1_StageStatusSummary, StageStatusSummary__Output as _conveyor_v1_StageStatusSummary__Output } from '../../conveyor/v1/StageStatusSummary';

export interface PipelineStatus {
  'name'?: (string);
  'state'?: (string);
  'stages'?: (_conveyor_v1_StageStatusSummary)[];
}

export interface PipelineStatus__Output {
  'name': (string);
  'state': (string);
  'stages': (_conveyor_v1_StageStatusSummary__Output)[];
}

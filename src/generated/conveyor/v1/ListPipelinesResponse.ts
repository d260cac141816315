// Original file: proto/conveyor/v1/router.proto

import type { PipelineSummary as _conveyor_v1_PipelineSummary, PipelineSummary__Output as _conveyor_v1_PipelineSummary__Output } from '../../conveyor/v1/PipelineSummary';

export interface ListPipelinesResponse {
  'pipelines'?: (_conveyor_v1_PipelineSummary)[];
}

export interface ListPipelinesResponse__Output {
  'pipelines': (_conveyor_v1_PipelineSummary__Output)[];
}

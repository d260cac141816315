// Original file: proto/conveyor/v1/dataplane.proto

import type { StageRoute as _conveyor_v1_StageRoute, StageRoute__Output as _conveyor_v1_StageRoute__Output } from '../../conveyor/v1/StageRoute';
import type { PipelineSettings as _conveyor_v1_PipelineSettings, PipelineSettings__Output as _conveyor_v1_PipelineSettings__Output } from '../../conveyor/v1/PipelineSettings';
import type { Long } from '@grpc/proto-loader';

export interface PipelineRoute {
  'pipeline'?: (string);
  'stages'?: (_conveyor_v1_StageRoute)[];
  'settings'?: (_conveyor_v1_PipelineSettings | null);
  'generation'?: (number | string | Long);
}

export interface PipelineRoute__Output {
  'pipeline': (string);
  'stages': (_conveyor_v1_StageRoute__Output)[];
  'settings': (_conveyor_v1_PipelineSettings__Output | null);
  'generation': (number);
}

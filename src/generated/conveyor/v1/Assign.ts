// Original file: proto/conveyor/v1/router.proto

import type { PipelineRoute as _conveyor_v1_PipelineRoute, PipelineRoute__Output as _conveyor_v1_PipelineRoute__Output } from '../../conveyor/v1/PipelineRoute';
import type { Long } from '@grpc/proto-loader';

export interface Assign {
  'pipeline'?: (string);
  'stage'?: (string);
  'stageIndex'?: (number);
  'generation'?: (number | string | Long);
  'routes'?: (_conveyor_v1_PipelineRoute | null);
  'partitions'?: (number)[];
}

export interface Assign__Output {
  'pipeline': (string);
  'stage': (string);
  'stageIndex': (number);
  'generation': (number);
  'routes': (_conveyor_v1_PipelineRoute__Output | null);
  'partitions': (number)[];
}

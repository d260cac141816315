// Original file: proto/conveyor/v1/dataplane.proto

import type { PipelineRoute as _conveyor_v1_PipelineRoute, PipelineRoute__Output as _conveyor_v1_PipelineRoute__Output } from '../../conveyor/v1/PipelineRoute';
import type { Long } from '@grpc/proto-loader';

export interface RoutingTable {
  'version'?: (number | string | Long);
  'generation'?: (number | string | Long);
  'pipelines'?: (_conveyor_v1_PipelineRoute)[];
}

export interface RoutingTable__Output {
  'version': (number);
  'generation': (number);
  'pipelines': (_conveyor_v1_PipelineRoute__Output)[];
}

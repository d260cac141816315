// Original file: proto/conveyor/v1/stages.proto

import type { TransformResult as _conveyor_v1_TransformResult, TransformResult__Output as _conveyor_v1_TransformResult__Output } from '../../conveyor/v1/TransformResult';
import type { Long } from '@grpc/proto-loader';

export interface ProcessResponse {
  'batchId'?: (number | string | Long);
  'results'?: (_conveyor_v1_TransformResult)[];
}

export interface ProcessResponse__Output {
  'batchId': (number);
  'results': (_conveyor_v1_TransformResult__Output)[];
}

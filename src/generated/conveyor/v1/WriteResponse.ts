// Original file: proto/conveyor/v1/stages.proto

import type { WriteResult as _conveyor_v1_WriteResult, WriteResult__Output as _conveyor_v1_WriteResult__Output } from '../../conveyor/v1/WriteResult';
import type { Long } from '@grpc/proto-loader';

export interface WriteResponse {
  'batchId'?: (number | string | Long);
  'results'?: (_conveyor_v1_WriteResult)[];
}

export interface WriteResponse__Output {
  'batchId': (number);
  'results': (_conveyor_v1_WriteResult__Output)[];
}

// Original file: proto/conveyor/v1/stages.proto

import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from '../../conveyor/v1/Record';
import type { Long } from '@grpc/proto-loader';

export interface ProcessRequest {
  'batchId'?: (number | string | Long);
  'records'?: (_conveyor_v1_Record)[];
}

export interface ProcessRequest__Output {
  'batchId': (number);
  'records': (_conveyor_v1_Record__Output)[];
}

// Original file: proto/conveyor/v1/dataplane.proto

import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from '../../conveyor/v1/Record';
import type { Long } from '@grpc/proto-loader';

export interface ForwardBatch {
  'batchId'?: (number | string | Long);
  'pipeline'?: (string);
  'stageIndex'?: (number);
  'generation'?: (number | string | Long);
  'records'?: (_conveyor_v1_Record)[];
  'senderId'?: (string);
}

export interface ForwardBatch__Output {
  'batchId': (number);
  'pipeline': (string);
  'stageIndex': (number);
  'generation': (number);
  'records': (_conveyor_v1_Record__Output)[];
  'senderId': (string);
}

// Original file: proto/conveyor/v1/dataplane.proto

import type { RetryPolicy as _conveyor_v1_RetryPolicy, RetryPolicy__Output as _conveyor_v1_RetryPolicy__Output } from '../../conveyor/v1/RetryPolicy';
import type { Long } from '@grpc/proto-loader';

export interface PipelineSettings {
  'batchSize'?: (number);
  'maxInFlightRecords'?: (number);
  'maxInFlightBytes'?: (number | string | Long);
  'maxRecordBytes'?: (number);
  'stageTimeoutMs'?: (number);
  'retry'?: (_conveyor_v1_RetryPolicy | null);
  'ordering'?: (string);
}

export interface PipelineSettings__Output {
  'batchSize': (number);
  'maxInFlightRecords': (number);
  'maxInFlightBytes': (number);
  'maxRecordBytes': (number);
  'stageTimeoutMs': (number);
  'retry': (_conveyor_v1_RetryPolicy__Output | null);
  'ordering': (string);
}

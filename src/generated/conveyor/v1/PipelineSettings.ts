// Original file: proto/conveyor/v1/dataplane.proto

import type { Long } from '@grpc/proto-loader';

export interface PipelineSettings {
  'batchSize'?: (number);
  'maxInFlightRecords'?: (number);
  'maxInFlightBytes'?: (number | string | Long);
  'maxRecordBytes'?: (number);
  'stageTimeoutMs'?: (number);
}

export interface PipelineSettings__Output {
  'batchSize': (number);
  'maxInFlightRecords': (number);
  'maxInFlightBytes': (number);
  'maxRecordBytes': (number);
  'stageTimeoutMs': (number);
}

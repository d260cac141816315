// Original file: proto/conveyor/v1/router.proto

import type { Long } from '@grpc/proto-loader';

export interface StageStatus {
  'pipeline'?: (string);
  'stage'?: (string);
  'recordsIn'?: (number | string | Long);
  'recordsOut'?: (number | string | Long);
  'errors'?: (number | string | Long);
  'lastError'?: (string);
  'state'?: (string);
  'dlqCount'?: (number | string | Long);
}

export interface StageStatus__Output {
  'pipeline': (string);
  'stage': (string);
  'recordsIn': (number);
  'recordsOut': (number);
  'errors': (number);
  'lastError': (string);
  'state': (string);
  'dlqCount': (number);
}

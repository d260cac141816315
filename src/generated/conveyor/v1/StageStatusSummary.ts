// Original file: proto/conveyor/v1/router.proto

import type { StageKind as _conveyor_v1_StageKind, StageKind__Output as _conveyor_v1_StageKind__Output } from '../../conveyor/v1/StageKind';
import type { Long } from '@grpc/proto-loader';

export interface StageStatusSummary {
  'stage'?: (string);
  'stageIndex'?: (number);
  'kind'?: (_conveyor_v1_StageKind);
  'sidecars'?: (string)[];
  'recordsIn'?: (number | string | Long);
  'recordsOut'?: (number | string | Long);
  'errors'?: (number | string | Long);
  'lastError'?: (string);
  'dlqCount'?: (number | string | Long);
  'state'?: (string);
}

export interface StageStatusSummary__Output {
  'stage': (string);
  'stageIndex': (number);
  'kind': (_conveyor_v1_StageKind__Output);
  'sidecars': (string)[];
  'recordsIn': (number);
  'recordsOut': (number);
  'errors': (number);
  'lastError': (string);
  'dlqCount': (number);
  'state': (string);
}

// Original file: proto/conveyor/v1/router.proto

import type { StageKind as _conveyor_v1_StageKind, StageKind__Output as _conveyor_v1_StageKind__Output } from '../../conveyor/v1/StageKind';
import type { StageErrorInfo as _conveyor_v1_StageErrorInfo, StageErrorInfo__Output as _conveyor_v1_StageErrorInfo__Output } from '../../conveyor/v1/StageErrorInfo';
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
  'windowSecs'?: (number | string);
  'rateIn'?: (number | string);
  'rateOut'?: (number | string);
  'errorRate'?: (number | string);
  'dlqRate'?: (number | string);
  'bytesInRate'?: (number | string);
  'peerShare'?: (number | string);
  'p99Ms'?: (number | string);
  'latencySamples'?: (number | string | Long);
  'inFlight'?: (number | string | Long);
  'bytesIn'?: (number | string | Long);
  'recentErrors'?: (_conveyor_v1_StageErrorInfo)[];
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
  'windowSecs': (number);
  'rateIn': (number);
  'rateOut': (number);
  'errorRate': (number);
  'dlqRate': (number);
  'bytesInRate': (number);
  'peerShare': (number);
  'p99Ms': (number);
  'latencySamples': (number);
  'inFlight': (number);
  'bytesIn': (number);
  'recentErrors': (_conveyor_v1_StageErrorInfo__Output)[];
}

// Original file: proto/conveyor/v1/router.proto

import type { StageError as _conveyor_v1_StageError, StageError__Output as _conveyor_v1_StageError__Output } from '../../conveyor/v1/StageError';
import type { MirrorProgress as _conveyor_v1_MirrorProgress, MirrorProgress__Output as _conveyor_v1_MirrorProgress__Output } from '../../conveyor/v1/MirrorProgress';
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
  'bytesIn'?: (number | string | Long);
  'inFlight'?: (number | string | Long);
  'recordsPeer'?: (number | string | Long);
  'latencyBoundsMs'?: (number | string)[];
  'latencyCounts'?: (number | string | Long)[];
  'recentErrors'?: (_conveyor_v1_StageError)[];
  'mirrors'?: (_conveyor_v1_MirrorProgress)[];
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
  'bytesIn': (number);
  'inFlight': (number);
  'recordsPeer': (number);
  'latencyBoundsMs': (number)[];
  'latencyCounts': (number)[];
  'recentErrors': (_conveyor_v1_StageError__Output)[];
  'mirrors': (_conveyor_v1_MirrorProgress__Output)[];
}

// Original file: proto/conveyor/v1/router.proto

import type { StageKind as _conveyor_v1_StageKind, StageKind__Output as _conveyor_v1_StageKind__Output } from '../../conveyor/v1/StageKind';
import type { Long } from '@grpc/proto-loader';

export interface AssignmentInfo {
  'pipeline'?: (string);
  'stage'?: (string);
  'stageIndex'?: (number);
  'kind'?: (_conveyor_v1_StageKind);
  'sidecarId'?: (string);
  'generation'?: (number | string | Long);
  'partitions'?: (number)[];
  'placement'?: (string);
  'pendingPartitions'?: (number)[];
  'pendingFrom'?: (string)[];
}

export interface AssignmentInfo__Output {
  'pipeline': (string);
  'stage': (string);
  'stageIndex': (number);
  'kind': (_conveyor_v1_StageKind__Output);
  'sidecarId': (string);
  'generation': (number);
  'partitions': (number)[];
  'placement': (string);
  'pendingPartitions': (number)[];
  'pendingFrom': (string)[];
}

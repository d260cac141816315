// Original file: proto/conveyor/v1/dataplane.proto

import type { StageKind as _conveyor_v1_StageKind, StageKind__Output as _conveyor_v1_StageKind__Output } from '../../conveyor/v1/StageKind';

export interface LocalService {
  'endpoint'?: (string);
  'service'?: (string);
  'kind'?: (_conveyor_v1_StageKind);
  'stageName'?: (string);
  'version'?: (string);
  'partitions'?: (number)[];
}

export interface LocalService__Output {
  'endpoint': (string);
  'service': (string);
  'kind': (_conveyor_v1_StageKind__Output);
  'stageName': (string);
  'version': (string);
  'partitions': (number)[];
}

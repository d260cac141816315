// Original file: proto/conveyor/v1/record.proto

import type { StageKind as _conveyor_v1_StageKind, StageKind__Output as _conveyor_v1_StageKind__Output } from '../../conveyor/v1/StageKind';

export interface StageInfo {
  'name'?: (string);
  'kind'?: (_conveyor_v1_StageKind);
  'version'?: (string);
  'labels'?: ({[key: string]: string});
  'partitions'?: (number)[];
}

export interface StageInfo__Output {
  'name': (string);
  'kind': (_conveyor_v1_StageKind__Output);
  'version': (string);
  'labels': ({[key: string]: string});
  'partitions': (number)[];
}

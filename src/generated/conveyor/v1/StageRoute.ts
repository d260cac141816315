// Original file: proto/conveyor/v1/dataplane.proto

import type { StageKind as _conveyor_v1_StageKind, StageKind__Output as _conveyor_v1_StageKind__Output } from '../../conveyor/v1/StageKind';
import type { StageInstance as _conveyor_v1_StageInstance, StageInstance__Output as _conveyor_v1_StageInstance__Output } from '../../conveyor/v1/StageInstance';

export interface StageRoute {
  'index'?: (number);
  'name'?: (string);
  'kind'?: (_conveyor_v1_StageKind);
  'builtin'?: (string);
  'builtinConfigJson'?: (string);
  'instances'?: (_conveyor_v1_StageInstance)[];
  'deadLetter'?: (boolean);
}

export interface StageRoute__Output {
  'index': (number);
  'name': (string);
  'kind': (_conveyor_v1_StageKind__Output);
  'builtin': (string);
  'builtinConfigJson': (string);
  'instances': (_conveyor_v1_StageInstance__Output)[];
  'deadLetter': (boolean);
}

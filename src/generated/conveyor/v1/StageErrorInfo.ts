// Original file: proto/conveyor/v1/router.proto

import type { StageError as _conveyor_v1_StageError, StageError__Output as _conveyor_v1_StageError__Output } from '../../conveyor/v1/StageError';

export interface StageErrorInfo {
  'sidecarId'?: (string);
  'error'?: (_conveyor_v1_StageError | null);
}

export interface StageErrorInfo__Output {
  'sidecarId': (string);
  'error': (_conveyor_v1_StageError__Output | null);
}

// Original file: proto/conveyor/v1/stages.proto

import type { RecordError as _conveyor_v1_RecordError, RecordError__Output as _conveyor_v1_RecordError__Output } from '../../conveyor/v1/RecordError';

export interface WriteResult {
  'id'?: (string);
  'error'?: (_conveyor_v1_RecordError | null);
}

export interface WriteResult__Output {
  'id': (string);
  'error': (_conveyor_v1_RecordError__Output | null);
}

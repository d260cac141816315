// Original file: proto/conveyor/v1/stages.proto

import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from '../../conveyor/v1/Record';
import type { RecordError as _conveyor_v1_RecordError, RecordError__Output as _conveyor_v1_RecordError__Output } from '../../conveyor/v1/RecordError';

export interface TransformResult {
  'records'?: (_conveyor_v1_Record)[];
  'error'?: (_conveyor_v1_RecordError | null);
}

export interface TransformResult__Output {
  'records': (_conveyor_v1_Record__Output)[];
  'error': (_conveyor_v1_RecordError__Output | null);
}

// Original file: proto/conveyor/v1/dataplane.proto

import type { InjectRecord as _conveyor_v1_InjectRecord, InjectRecord__Output as _conveyor_v1_InjectRecord__Output } from '../../conveyor/v1/InjectRecord';

export interface InjectRequest {
  'pipeline'?: (string);
  'stage'?: (string);
  'records'?: (_conveyor_v1_InjectRecord)[];
}

export interface InjectRequest__Output {
  'pipeline': (string);
  'stage': (string);
  'records': (_conveyor_v1_InjectRecord__Output)[];
}

// Original file: proto/conveyor/v1/stages.proto

import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from '../../conveyor/v1/Record';
import type { Long } from '@grpc/proto-loader';

export interface ReadResponse {
  'records'?: (_conveyor_v1_Record)[];
  'cursor'?: (string);
  'lag'?: (number | string | Long);
  '_lag'?: "lag";
}

export interface ReadResponse__Output {
  'records': (_conveyor_v1_Record__Output)[];
  'cursor': (string);
  'lag'?: (number);
  '_lag'?: "lag";
}

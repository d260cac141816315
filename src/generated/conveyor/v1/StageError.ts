// Original file: proto/conveyor/v1/router.proto

import type { Long } from '@grpc/proto-loader';

export interface StageError {
  'code'?: (string);
  'message'?: (string);
  'recordId'?: (string);
  'attempt'?: (number);
  'timeMs'?: (number | string | Long);
  'records'?: (number);
}

export interface StageError__Output {
  'code': (string);
  'message': (string);
  'recordId': (string);
  'attempt': (number);
  'timeMs': (number);
  'records': (number);
}

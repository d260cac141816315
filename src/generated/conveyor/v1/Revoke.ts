// Original file: proto/conveyor/v1/router.proto

import type { Long } from '@grpc/proto-loader';

export interface Revoke {
  'pipeline'?: (string);
  'stage'?: (string);
  'drainFirst'?: (boolean);
  'generation'?: (number | string | Long);
}

export interface Revoke__Output {
  'pipeline': (string);
  'stage': (string);
  'drainFirst': (boolean);
  'generation': (number);
}

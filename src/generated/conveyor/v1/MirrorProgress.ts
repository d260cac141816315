// Original file: proto/conveyor/v1/router.proto

import type { Long } from '@grpc/proto-loader';

export interface MirrorProgress {
  'name'?: (string);
  'topic'?: (string);
  'partition'?: (number);
  'sourceHigh'?: (number | string | Long);
  'destNext'?: (number | string | Long);
  'lastFlushMs'?: (number | string | Long);
  'state'?: (string);
  'error'?: (string);
}

export interface MirrorProgress__Output {
  'name': (string);
  'topic': (string);
  'partition': (number);
  'sourceHigh': (number);
  'destNext': (number);
  'lastFlushMs': (number);
  'state': (string);
  'error': (string);
}

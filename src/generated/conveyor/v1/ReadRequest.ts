// Original file: proto/conveyor/v1/stages.proto

import type { Long } from '@grpc/proto-loader';

export interface ReadRequest {
  'credits'?: (number);
  'ackCursor'?: (string);
  'pipeline'?: (string);
  'partitions'?: (number)[];
  'generation'?: (number | string | Long);
}

export interface ReadRequest__Output {
  'credits': (number);
  'ackCursor': (string);
  'pipeline': (string);
  'partitions': (number)[];
  'generation': (number);
}

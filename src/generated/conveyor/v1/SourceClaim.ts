// Original file: proto/conveyor/v1/router.proto

import type { Long } from '@grpc/proto-loader';

export interface SourceClaim {
  'pipeline'?: (string);
  'stage'?: (string);
  'partitions'?: (number)[];
  'generation'?: (number | string | Long);
}

export interface SourceClaim__Output {
  'pipeline': (string);
  'stage': (string);
  'partitions': (number)[];
  'generation': (number);
}

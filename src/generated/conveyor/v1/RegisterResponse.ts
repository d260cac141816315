// Original file: proto/conveyor/v1/router.proto

import type { Long } from '@grpc/proto-loader';

export interface RegisterResponse {
  'heartbeatIntervalMs'?: (number);
  'generation'?: (number | string | Long);
}

export interface RegisterResponse__Output {
  'heartbeatIntervalMs': (number);
  'generation': (number);
}

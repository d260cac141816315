// Original file: proto/conveyor/v1/router.proto

import type { Long } from '@grpc/proto-loader';

export interface ApplyPipelineResponse {
  'name'?: (string);
  'created'?: (boolean);
  'generation'?: (number | string | Long);
}

export interface ApplyPipelineResponse__Output {
  'name': (string);
  'created': (boolean);
  'generation': (number);
}

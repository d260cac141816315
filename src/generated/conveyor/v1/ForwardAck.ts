// Original file: proto/conveyor/v1/dataplane.proto

import type { Long } from '@grpc/proto-loader';

export interface ForwardAck {
  'batchId'?: (number | string | Long);
  'credits'?: (number);
  'error'?: (string);
  'retryable'?: (boolean);
  'code'?: (string);
  'written'?: (number);
  'filtered'?: (number);
  'deadLettered'?: (number);
}

export interface ForwardAck__Output {
  'batchId': (number);
  'credits': (number);
  'error': (string);
  'retryable': (boolean);
  'code': (string);
  'written': (number);
  'filtered': (number);
  'deadLettered': (number);
}

// Original file: proto/conveyor/v1/record.proto

import type { Long } from '@grpc/proto-loader';

export interface Record {
  'id'?: (string);
  'key'?: (Buffer | Uint8Array | string);
  'value'?: (Buffer | Uint8Array | string);
  'headers'?: ({[key: string]: string});
  'eventTimeMs'?: (number | string | Long);
}

export interface Record__Output {
  'id': (string);
  'key': (Buffer);
  'value': (Buffer);
  'headers': ({[key: string]: string});
  'eventTimeMs': (number);
}

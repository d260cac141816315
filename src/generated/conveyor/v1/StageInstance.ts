// Original file: proto/conveyor/v1/dataplane.proto

import type { Long } from '@grpc/proto-loader';

export interface StageInstance {
  'sidecarId'?: (string);
  'peerAddress'?: (string);
  'serviceEndpoint'?: (string);
  'serviceName'?: (string);
  'partitions'?: (number)[];
  'generation'?: (number | string | Long);
}

export interface StageInstance__Output {
  'sidecarId': (string);
  'peerAddress': (string);
  'serviceEndpoint': (string);
  'serviceName': (string);
  'partitions': (number)[];
  'generation': (number);
}

// Original file: proto/conveyor/v1/dataplane.proto

import type { LocalService as _conveyor_v1_LocalService, LocalService__Output as _conveyor_v1_LocalService__Output } from '../../conveyor/v1/LocalService';
import type { Long } from '@grpc/proto-loader';

export interface ListLocalServicesResponse {
  'services'?: (_conveyor_v1_LocalService)[];
  'scannedAtMs'?: (number | string | Long);
}

export interface ListLocalServicesResponse__Output {
  'services': (_conveyor_v1_LocalService__Output)[];
  'scannedAtMs': (number);
}

// Original file: proto/conveyor/v1/router.proto

import type { LocalService as _conveyor_v1_LocalService, LocalService__Output as _conveyor_v1_LocalService__Output } from '../../conveyor/v1/LocalService';

export interface RegisterRequest {
  'sidecarId'?: (string);
  'podName'?: (string);
  'namespace'?: (string);
  'peerAddress'?: (string);
  'services'?: (_conveyor_v1_LocalService)[];
}

export interface RegisterRequest__Output {
  'sidecarId': (string);
  'podName': (string);
  'namespace': (string);
  'peerAddress': (string);
  'services': (_conveyor_v1_LocalService__Output)[];
}

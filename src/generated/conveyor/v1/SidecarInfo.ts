// Original file: proto/conveyor/v1/router.proto

import type { LocalService as _conveyor_v1_LocalService, LocalService__Output as _conveyor_v1_LocalService__Output } from '../../conveyor/v1/LocalService';
import type { Long } from '@grpc/proto-loader';

export interface SidecarInfo {
  'sidecarId'?: (string);
  'podName'?: (string);
  'namespace'?: (string);
  'peerAddress'?: (string);
  'services'?: (_conveyor_v1_LocalService)[];
  'lastHeartbeatMs'?: (number | string | Long);
  'state'?: (string);
  'routingVersion'?: (number | string | Long);
}

export interface SidecarInfo__Output {
  'sidecarId': (string);
  'podName': (string);
  'namespace': (string);
  'peerAddress': (string);
  'services': (_conveyor_v1_LocalService__Output)[];
  'lastHeartbeatMs': (number);
  'state': (string);
  'routingVersion': (number);
}

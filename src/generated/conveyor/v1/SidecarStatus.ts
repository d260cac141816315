// Original file: proto/conveyor/v1/router.proto

import type { LocalService as _conveyor_v1_LocalService, LocalService__Output as _conveyor_v1_LocalService__Output } from '../../conveyor/v1/LocalService';
import type { StageStatus as _conveyor_v1_StageStatus, StageStatus__Output as _conveyor_v1_StageStatus__Output } from '../../conveyor/v1/StageStatus';
import type { SourceClaim as _conveyor_v1_SourceClaim, SourceClaim__Output as _conveyor_v1_SourceClaim__Output } from '../../conveyor/v1/SourceClaim';
import type { Long } from '@grpc/proto-loader';

export interface SidecarStatus {
  'sidecarId'?: (string);
  'services'?: (_conveyor_v1_LocalService)[];
  'servicesChanged'?: (boolean);
  'routingVersion'?: (number | string | Long);
  'stages'?: (_conveyor_v1_StageStatus)[];
  'sources'?: (_conveyor_v1_SourceClaim)[];
  'fenced'?: (boolean);
}

export interface SidecarStatus__Output {
  'sidecarId': (string);
  'services': (_conveyor_v1_LocalService__Output)[];
  'servicesChanged': (boolean);
  'routingVersion': (number);
  'stages': (_conveyor_v1_StageStatus__Output)[];
  'sources': (_conveyor_v1_SourceClaim__Output)[];
  'fenced': (boolean);
}

// Original file: proto/conveyor/v1/router.proto

import type { SidecarInfo as _conveyor_v1_SidecarInfo, SidecarInfo__Output as _conveyor_v1_SidecarInfo__Output } from '../../conveyor/v1/SidecarInfo';

export interface ListSidecarsResponse {
  'sidecars'?: (_conveyor_v1_SidecarInfo)[];
}

export interface ListSidecarsResponse__Output {
  'sidecars': (_conveyor_v1_SidecarInfo__Output)[];
}

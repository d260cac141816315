// Original file: proto/conveyor/v1/router.proto

import type { Assign as _conveyor_v1_Assign, Assign__Output as _conveyor_v1_Assign__Output } from '../../conveyor/v1/Assign';
import type { Revoke as _conveyor_v1_Revoke, Revoke__Output as _conveyor_v1_Revoke__Output } from '../../conveyor/v1/Revoke';
import type { UpdateRoutes as _conveyor_v1_UpdateRoutes, UpdateRoutes__Output as _conveyor_v1_UpdateRoutes__Output } from '../../conveyor/v1/UpdateRoutes';
import type { Long } from '@grpc/proto-loader';

export interface RouterCommand {
  'generation'?: (number | string | Long);
  'assign'?: (_conveyor_v1_Assign | null);
  'revoke'?: (_conveyor_v1_Revoke | null);
  'updateRoutes'?: (_conveyor_v1_UpdateRoutes | null);
  'command'?: "assign"|"revoke"|"updateRoutes";
}

export interface RouterCommand__Output {
  'generation': (number);
  'assign'?: (_conveyor_v1_Assign__Output | null);
  'revoke'?: (_conveyor_v1_Revoke__Output | null);
  'updateRoutes'?: (_conveyor_v1_UpdateRoutes__Output | null);
  'command'?: "assign"|"revoke"|"updateRoutes";
}

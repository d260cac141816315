// Original file: proto/conveyor/v1/router.proto

import type { RoutingTable as _conveyor_v1_RoutingTable, RoutingTable__Output as _conveyor_v1_RoutingTable__Output } from '../../conveyor/v1/RoutingTable';

export interface UpdateRoutes {
  'table'?: (_conveyor_v1_RoutingTable | null);
}

export interface UpdateRoutes__Output {
  'table': (_conveyor_v1_RoutingTable__Output | null);
}

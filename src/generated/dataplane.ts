import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DataPlaneClient as _conveyor_v1_DataPlaneClient, DataPlaneDefinition as _conveyor_v1_DataPlaneDefinition } from './conveyor/v1/DataPlane';
import type { DescribeRequest as _conveyor_v1_DescribeRequest, DescribeRequest__Output as _conveyor_v1_DescribeRequest__Output } from './conveyor/v1/DescribeRequest';
import type { ForwardAck as _conveyor_v1_ForwardAck, ForwardAck__Output as _conveyor_v1_ForwardAck__Output } from './conveyor/v1/ForwardAck';
import type { ForwardBatch as _conveyor_v1_ForwardBatch, ForwardBatch__Output as _conveyor_v1_ForwardBatch__Output } from './conveyor/v1/ForwardBatch';
import type { GetRoutesRequest as _conveyor_v1_GetRoutesRequest, GetRoutesRequest__Output as _conveyor_v1_GetRoutesRequest__Output } from './conveyor/v1/GetRoutesRequest';
import type { InjectRecord as _conveyor_v1_InjectRecord, InjectRecord__Output as _conveyor_v1_InjectRecord__Output } from './conveyor/v1/InjectRecord';
import type { InjectRequest as _conveyor_v1_InjectRequest, InjectRequest__Output as _conveyor_v1_InjectRequest__Output } from './conveyor/v1/InjectRequest';
import type { InjectResponse as _conveyor_v1_InjectResponse, InjectResponse__Output as _conveyor_v1_InjectResponse__Output } from './conveyor/v1/InjectResponse';
import type { ListLocalServicesRequest as _conveyor_v1_ListLocalServicesRequest, ListLocalServicesRequest__Output as _conveyor_v1_ListLocalServicesRequest__Output } from './conveyor/v1/ListLocalServicesRequest';
import type { ListLocalServicesResponse as _conveyor_v1_ListLocalServicesResponse, ListLocalServicesResponse__Output as _conveyor_v1_ListLocalServicesResponse__Output } from './conveyor/v1/ListLocalServicesResponse';
import type { LocalService as _conveyor_v1_LocalService, LocalService__Output as _conveyor_v1_LocalService__Output } from './conveyor/v1/LocalService';
import type { PipelineRoute as _conveyor_v1_PipelineRoute, PipelineRoute__Output as _conveyor_v1_PipelineRoute__Output } from './conveyor/v1/PipelineRoute';
import type { PipelineSettings as _conveyor_v1_PipelineSettings, PipelineSettings__Output as _conveyor_v1_PipelineSettings__Output } from './conveyor/v1/PipelineSettings';
import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from './conveyor/v1/Record';
import type { RecordError as _conveyor_v1_RecordError, RecordError__Output as _conveyor_v1_RecordError__Output } from './conveyor/v1/RecordError';
import type { RetryPolicy as _conveyor_v1_RetryPolicy, RetryPolicy__Output as _conveyor_v1_RetryPolicy__Output } from './conveyor/v1/RetryPolicy';
import type { RoutingTable as _conveyor_v1_RoutingTable, RoutingTable__Output as _conveyor_v1_RoutingTable__Output } from './conveyor/v1/RoutingTable';
import type { StageInfo as _conveyor_v1_StageInfo, StageInfo__Output as _conveyor_v1_StageInfo__Output } from './conveyor/v1/StageInfo';
import type { StageInstance as _conveyor_v1_StageInstance, StageInstance__Output as _conveyor_v1_StageInstance__Output } from './conveyor/v1/StageInstance';
import type { StageRoute as _conveyor_v1_StageRoute, StageRoute__Output as _conveyor_v1_StageRoute__Output } from './conveyor/v1/StageRoute';
import type { TapRequest as _conveyor_v1_TapRequest, TapRequest__Output as _conveyor_v1_TapRequest__Output } from './conveyor/v1/TapRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  conveyor: {
    v1: {
      DataPlane: SubtypeConstructor<typeof grpc.Client, _conveyor_v1_DataPlaneClient> & { service: _conveyor_v1_DataPlaneDefinition }
      DescribeRequest: MessageTypeDefinition<_conveyor_v1_DescribeRequest, _conveyor_v1_DescribeRequest__Output>
      ForwardAck: MessageTypeDefinition<_conveyor_v1_ForwardAck, _conveyor_v1_ForwardAck__Output>
      ForwardBatch: MessageTypeDefinition<_conveyor_v1_ForwardBatch, _conveyor_v1_ForwardBatch__Output>
      GetRoutesRequest: MessageTypeDefinition<_conveyor_v1_GetRoutesRequest, _conveyor_v1_GetRoutesRequest__Output>
      InjectRecord: MessageTypeDefinition<_conveyor_v1_InjectRecord, _conveyor_v1_InjectRecord__Output>
      InjectRequest: MessageTypeDefinition<_conveyor_v1_InjectRequest, _conveyor_v1_InjectRequest__Output>
      InjectResponse: MessageTypeDefinition<_conveyor_v1_InjectResponse, _conveyor_v1_InjectResponse__Output>
      ListLocalServicesRequest: MessageTypeDefinition<_conveyor_v1_ListLocalServicesRequest, _conveyor_v1_ListLocalServicesRequest__Output>
      ListLocalServicesResponse: MessageTypeDefinition<_conveyor_v1_ListLocalServicesResponse, _conveyor_v1_ListLocalServicesResponse__Output>
      LocalService: MessageTypeDefinition<_conveyor_v1_LocalService, _conveyor_v1_LocalService__Output>
      PipelineRoute: MessageTypeDefinition<_conveyor_v1_PipelineRoute, _conveyor_v1_PipelineRoute__Output>
      PipelineSettings: MessageTypeDefinition<_conveyor_v1_PipelineSettings, _conveyor_v1_PipelineSettings__Output>
      Record: MessageTypeDefinition<_conveyor_v1_Record, _conveyor_v1_Record__Output>
      RecordError: MessageTypeDefinition<_conveyor_v1_RecordError, _conveyor_v1_RecordError__Output>
      RetryPolicy: MessageTypeDefinition<_conveyor_v1_RetryPolicy, _conveyor_v1_RetryPolicy__Output>
      RoutingTable: MessageTypeDefinition<_conveyor_v1_RoutingTable, _conveyor_v1_RoutingTable__Output>
      StageInfo: MessageTypeDefinition<_conveyor_v1_StageInfo, _conveyor_v1_StageInfo__Output>
      StageInstance: MessageTypeDefinition<_conveyor_v1_StageInstance, _conveyor_v1_StageInstance__Output>
      StageKind: EnumTypeDefinition
      StageRoute: MessageTypeDefinition<_conveyor_v1_StageRoute, _conveyor_v1_StageRoute__Output>
      TapRequest: MessageTypeDefinition<_conveyor_v1_TapRequest, _conveyor_v1_TapRequest__Output>
    }
  }
}


import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdminClient as _conveyor_v1_AdminClient, AdminDefinition as _conveyor_v1_AdminDefinition } from './conveyor/v1/Admin';
import type { ApplyPipelineRequest as _conveyor_v1_ApplyPipelineRequest, ApplyPipelineRequest__Output as _conveyor_v1_ApplyPipelineRequest__Output } from './conveyor/v1/ApplyPipelineRequest';
import type { ApplyPipelineResponse as _conveyor_v1_ApplyPipelineResponse, ApplyPipelineResponse__Output as _conveyor_v1_ApplyPipelineResponse__Output } from './conveyor/v1/ApplyPipelineResponse';
import type { AssignmentInfo as _conveyor_v1_AssignmentInfo, AssignmentInfo__Output as _conveyor_v1_AssignmentInfo__Output } from './conveyor/v1/AssignmentInfo';
import type { DataPlaneClient as _conveyor_v1_DataPlaneClient, DataPlaneDefinition as _conveyor_v1_DataPlaneDefinition } from './conveyor/v1/DataPlane';
import type { DeletePipelineRequest as _conveyor_v1_DeletePipelineRequest, DeletePipelineRequest__Output as _conveyor_v1_DeletePipelineRequest__Output } from './conveyor/v1/DeletePipelineRequest';
import type { DeletePipelineResponse as _conveyor_v1_DeletePipelineResponse, DeletePipelineResponse__Output as _conveyor_v1_DeletePipelineResponse__Output } from './conveyor/v1/DeletePipelineResponse';
import type { DeregisterRequest as _conveyor_v1_DeregisterRequest, DeregisterRequest__Output as _conveyor_v1_DeregisterRequest__Output } from './conveyor/v1/DeregisterRequest';
import type { DeregisterResponse as _conveyor_v1_DeregisterResponse, DeregisterResponse__Output as _conveyor_v1_DeregisterResponse__Output } from './conveyor/v1/DeregisterResponse';
import type { DescribeRequest as _conveyor_v1_DescribeRequest, DescribeRequest__Output as _conveyor_v1_DescribeRequest__Output } from './conveyor/v1/DescribeRequest';
import type { ForwardAck as _conveyor_v1_ForwardAck, ForwardAck__Output as _conveyor_v1_ForwardAck__Output } from './conveyor/v1/ForwardAck';
import type { ForwardBatch as _conveyor_v1_ForwardBatch, ForwardBatch__Output as _conveyor_v1_ForwardBatch__Output } from './conveyor/v1/ForwardBatch';
import type { GetPipelineStatusRequest as _conveyor_v1_GetPipelineStatusRequest, GetPipelineStatusRequest__Output as _conveyor_v1_GetPipelineStatusRequest__Output } from './conveyor/v1/GetPipelineStatusRequest';
import type { GetRoutesRequest as _conveyor_v1_GetRoutesRequest, GetRoutesRequest__Output as _conveyor_v1_GetRoutesRequest__Output } from './conveyor/v1/GetRoutesRequest';
import type { InjectRecord as _conveyor_v1_InjectRecord, InjectRecord__Output as _conveyor_v1_InjectRecord__Output } from './conveyor/v1/InjectRecord';
import type { InjectRequest as _conveyor_v1_InjectRequest, InjectRequest__Output as _conveyor_v1_InjectRequest__Output } from './conveyor/v1/InjectRequest';
import type { InjectResponse as _conveyor_v1_InjectResponse, InjectResponse__Output as _conveyor_v1_InjectResponse__Output } from './conveyor/v1/InjectResponse';
import type { ListAssignmentsRequest as _conveyor_v1_ListAssignmentsRequest, ListAssignmentsRequest__Output as _conveyor_v1_ListAssignmentsRequest__Output } from './conveyor/v1/ListAssignmentsRequest';
import type { ListAssignmentsResponse as _conveyor_v1_ListAssignmentsResponse, ListAssignmentsResponse__Output as _conveyor_v1_ListAssignmentsResponse__Output } from './conveyor/v1/ListAssignmentsResponse';
import type { ListLocalServicesRequest as _conveyor_v1_ListLocalServicesRequest, ListLocalServicesRequest__Output as _conveyor_v1_ListLocalServicesRequest__Output } from './conveyor/v1/ListLocalServicesRequest';
import type { ListLocalServicesResponse as _conveyor_v1_ListLocalServicesResponse, ListLocalServicesResponse__Output as _conveyor_v1_ListLocalServicesResponse__Output } from './conveyor/v1/ListLocalServicesResponse';
import type { ListPipelinesRequest as _conveyor_v1_ListPipelinesRequest, ListPipelinesRequest__Output as _conveyor_v1_ListPipelinesRequest__Output } from './conveyor/v1/ListPipelinesRequest';
import type { ListPipelinesResponse as _conveyor_v1_ListPipelinesResponse, ListPipelinesResponse__Output as _conveyor_v1_ListPipelinesResponse__Output } from './conveyor/v1/ListPipelinesResponse';
import type { ListSidecarsRequest as _conveyor_v1_ListSidecarsRequest, ListSidecarsRequest__Output as _conveyor_v1_ListSidecarsRequest__Output } from './conveyor/v1/ListSidecarsRequest';
import type { ListSidecarsResponse as _conveyor_v1_ListSidecarsResponse, ListSidecarsResponse__Output as _conveyor_v1_ListSidecarsResponse__Output } from './conveyor/v1/ListSidecarsResponse';
import type { LocalService as _conveyor_v1_LocalService, LocalService__Output as _conveyor_v1_LocalService__Output } from './conveyor/v1/LocalService';
import type { MirrorProgress as _conveyor_v1_MirrorProgress, MirrorProgress__Output as _conveyor_v1_MirrorProgress__Output } from './conveyor/v1/MirrorProgress';
import type { PipelineRoute as _conveyor_v1_PipelineRoute, PipelineRoute__Output as _conveyor_v1_PipelineRoute__Output } from './conveyor/v1/PipelineRoute';
import type { PipelineSettings as _conveyor_v1_PipelineSettings, PipelineSettings__Output as _conveyor_v1_PipelineSettings__Output } from './conveyor/v1/PipelineSettings';
import type { PipelineStatus as _conveyor_v1_PipelineStatus, PipelineStatus__Output as _conveyor_v1_PipelineStatus__Output } from './conveyor/v1/PipelineStatus';
import type { PipelineSummary as _conveyor_v1_PipelineSummary, PipelineSummary__Output as _conveyor_v1_PipelineSummary__Output } from './conveyor/v1/PipelineSummary';
import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from './conveyor/v1/Record';
import type { RecordError as _conveyor_v1_RecordError, RecordError__Output as _conveyor_v1_RecordError__Output } from './conveyor/v1/RecordError';
import type { RegisterRequest as _conveyor_v1_RegisterRequest, RegisterRequest__Output as _conveyor_v1_RegisterRequest__Output } from './conveyor/v1/RegisterRequest';
import type { RegisterResponse as _conveyor_v1_RegisterResponse, RegisterResponse__Output as _conveyor_v1_RegisterResponse__Output } from './conveyor/v1/RegisterResponse';
import type { RetryPolicy as _conveyor_v1_RetryPolicy, RetryPolicy__Output as _conveyor_v1_RetryPolicy__Output } from './conveyor/v1/RetryPolicy';
import type { RouterClient as _conveyor_v1_RouterClient, RouterDefinition as _conveyor_v1_RouterDefinition } from './conveyor/v1/Router';
import type { RoutingTable as _conveyor_v1_RoutingTable, RoutingTable__Output as _conveyor_v1_RoutingTable__Output } from './conveyor/v1/RoutingTable';
import type { SidecarInfo as _conveyor_v1_SidecarInfo, SidecarInfo__Output as _conveyor_v1_SidecarInfo__Output } from './conveyor/v1/SidecarInfo';
import type { SidecarStatus as _conveyor_v1_SidecarStatus, SidecarStatus__Output as _conveyor_v1_SidecarStatus__Output } from './conveyor/v1/SidecarStatus';
import type { SourceClaim as _conveyor_v1_SourceClaim, SourceClaim__Output as _conveyor_v1_SourceClaim__Output } from './conveyor/v1/SourceClaim';
import type { StageError as _conveyor_v1_StageError, StageError__Output as _conveyor_v1_StageError__Output } from './conveyor/v1/StageError';
import type { StageErrorInfo as _conveyor_v1_StageErrorInfo, StageErrorInfo__Output as _conveyor_v1_StageErrorInfo__Output } from './conveyor/v1/StageErrorInfo';
import type { StageInfo as _conveyor_v1_StageInfo, StageInfo__Output as _conveyor_v1_StageInfo__Output } from './conveyor/v1/StageInfo';
import type { StageInstance as _conveyor_v1_StageInstance, StageInstance__Output as _conveyor_v1_StageInstance__Output } from './conveyor/v1/StageInstance';
import type { StageRoute as _conveyor_v1_StageRoute, StageRoute__Output as _conveyor_v1_StageRoute__Output } from './conveyor/v1/StageRoute';
import type { StageStatus as _conveyor_v1_StageStatus, StageStatus__Output as _conveyor_v1_StageStatus__Output } from './conveyor/v1/StageStatus';
import type { StageStatusSummary as _conveyor_v1_StageStatusSummary, StageStatusSummary__Output as _conveyor_v1_StageStatusSummary__Output } from './conveyor/v1/StageStatusSummary';
import type { TapRequest as _conveyor_v1_TapRequest, TapRequest__Output as _conveyor_v1_TapRequest__Output } from './conveyor/v1/TapRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  conveyor: {
    v1: {
      Admin: SubtypeConstructor<typeof grpc.Client, _conveyor_v1_AdminClient> & { service: _conveyor_v1_AdminDefinition }
      ApplyPipelineRequest: MessageTypeDefinition<_conveyor_v1_ApplyPipelineRequest, _conveyor_v1_ApplyPipelineRequest__Output>
      ApplyPipelineResponse: MessageTypeDefinition<_conveyor_v1_ApplyPipelineResponse, _conveyor_v1_ApplyPipelineResponse__Output>
      AssignmentInfo: MessageTypeDefinition<_conveyor_v1_AssignmentInfo, _conveyor_v1_AssignmentInfo__Output>
      DataPlane: SubtypeConstructor<typeof grpc.Client, _conveyor_v1_DataPlaneClient> & { service: _conveyor_v1_DataPlaneDefinition }
      DeletePipelineRequest: MessageTypeDefinition<_conveyor_v1_DeletePipelineRequest, _conveyor_v1_DeletePipelineRequest__Output>
      DeletePipelineResponse: MessageTypeDefinition<_conveyor_v1_DeletePipelineResponse, _conveyor_v1_DeletePipelineResponse__Output>
      DeregisterRequest: MessageTypeDefinition<_conveyor_v1_DeregisterRequest, _conveyor_v1_DeregisterRequest__Output>
      DeregisterResponse: MessageTypeDefinition<_conveyor_v1_DeregisterResponse, _conveyor_v1_DeregisterResponse__Output>
      DescribeRequest: MessageTypeDefinition<_conveyor_v1_DescribeRequest, _conveyor_v1_DescribeRequest__Output>
      ForwardAck: MessageTypeDefinition<_conveyor_v1_ForwardAck, _conveyor_v1_ForwardAck__Output>
      ForwardBatch: MessageTypeDefinition<_conveyor_v1_ForwardBatch, _conveyor_v1_ForwardBatch__Output>
      GetPipelineStatusRequest: MessageTypeDefinition<_conveyor_v1_GetPipelineStatusRequest, _conveyor_v1_GetPipelineStatusRequest__Output>
      GetRoutesRequest: MessageTypeDefinition<_conveyor_v1_GetRoutesRequest, _conveyor_v1_GetRoutesRequest__Output>
      InjectRecord: MessageTypeDefinition<_conveyor_v1_InjectRecord, _conveyor_v1_InjectRecord__Output>
      InjectRequest: MessageTypeDefinition<_conveyor_v1_InjectRequest, _conveyor_v1_InjectRequest__Output>
      InjectResponse: MessageTypeDefinition<_conveyor_v1_InjectResponse, _conveyor_v1_InjectResponse__Output>
      ListAssignmentsRequest: MessageTypeDefinition<_conveyor_v1_ListAssignmentsRequest, _conveyor_v1_ListAssignmentsRequest__Output>
      ListAssignmentsResponse: MessageTypeDefinition<_conveyor_v1_ListAssignmentsResponse, _conveyor_v1_ListAssignmentsResponse__Output>
      ListLocalServicesRequest: MessageTypeDefinition<_conveyor_v1_ListLocalServicesRequest, _conveyor_v1_ListLocalServicesRequest__Output>
      ListLocalServicesResponse: MessageTypeDefinition<_conveyor_v1_ListLocalServicesResponse, _conveyor_v1_ListLocalServicesResponse__Output>
      ListPipelinesRequest: MessageTypeDefinition<_conveyor_v1_ListPipelinesRequest, _conveyor_v1_ListPipelinesRequest__Output>
      ListPipelinesResponse: MessageTypeDefinition<_conveyor_v1_ListPipelinesResponse, _conveyor_v1_ListPipelinesResponse__Output>
      ListSidecarsRequest: MessageTypeDefinition<_conveyor_v1_ListSidecarsRequest, _conveyor_v1_ListSidecarsRequest__Output>
      ListSidecarsResponse: MessageTypeDefinition<_conveyor_v1_ListSidecarsResponse, _conveyor_v1_ListSidecarsResponse__Output>
      LocalService: MessageTypeDefinition<_conveyor_v1_LocalService, _conveyor_v1_LocalService__Output>
      MirrorProgress: MessageTypeDefinition<_conveyor_v1_MirrorProgress, _conveyor_v1_MirrorProgress__Output>
      PipelineRoute: MessageTypeDefinition<_conveyor_v1_PipelineRoute, _conveyor_v1_PipelineRoute__Output>
      PipelineSettings: MessageTypeDefinition<_conveyor_v1_PipelineSettings, _conveyor_v1_PipelineSettings__Output>
      PipelineStatus: MessageTypeDefinition<_conveyor_v1_PipelineStatus, _conveyor_v1_PipelineStatus__Output>
      PipelineSummary: MessageTypeDefinition<_conveyor_v1_PipelineSummary, _conveyor_v1_PipelineSummary__Output>
      Record: MessageTypeDefinition<_conveyor_v1_Record, _conveyor_v1_Record__Output>
      RecordError: MessageTypeDefinition<_conveyor_v1_RecordError, _conveyor_v1_RecordError__Output>
      RegisterRequest: MessageTypeDefinition<_conveyor_v1_RegisterRequest, _conveyor_v1_RegisterRequest__Output>
      RegisterResponse: MessageTypeDefinition<_conveyor_v1_RegisterResponse, _conveyor_v1_RegisterResponse__Output>
      RetryPolicy: MessageTypeDefinition<_conveyor_v1_RetryPolicy, _conveyor_v1_RetryPolicy__Output>
      Router: SubtypeConstructor<typeof grpc.Client, _conveyor_v1_RouterClient> & { service: _conveyor_v1_RouterDefinition }
      RoutingTable: MessageTypeDefinition<_conveyor_v1_RoutingTable, _conveyor_v1_RoutingTable__Output>
      SidecarInfo: MessageTypeDefinition<_conveyor_v1_SidecarInfo, _conveyor_v1_SidecarInfo__Output>
      SidecarStatus: MessageTypeDefinition<_conveyor_v1_SidecarStatus, _conveyor_v1_SidecarStatus__Output>
      SourceClaim: MessageTypeDefinition<_conveyor_v1_SourceClaim, _conveyor_v1_SourceClaim__Output>
      StageError: MessageTypeDefinition<_conveyor_v1_StageError, _conveyor_v1_StageError__Output>
      StageErrorInfo: MessageTypeDefinition<_conveyor_v1_StageErrorInfo, _conveyor_v1_StageErrorInfo__Output>
      StageInfo: MessageTypeDefinition<_conveyor_v1_StageInfo, _conveyor_v1_StageInfo__Output>
      StageInstance: MessageTypeDefinition<_conveyor_v1_StageInstance, _conveyor_v1_StageInstance__Output>
      StageKind: EnumTypeDefinition
      StageRoute: MessageTypeDefinition<_conveyor_v1_StageRoute, _conveyor_v1_StageRoute__Output>
      StageStatus: MessageTypeDefinition<_conveyor_v1_StageStatus, _conveyor_v1_StageStatus__Output>
      StageStatusSummary: MessageTypeDefinition<_conveyor_v1_StageStatusSummary, _conveyor_v1_StageStatusSummary__Output>
      TapRequest: MessageTypeDefinition<_conveyor_v1_TapRequest, _conveyor_v1_TapRequest__Output>
    }
  }
}


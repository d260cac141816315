// Original file: proto/conveyor/v1/router.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ApplyPipelineRequest as _conveyor_v1_ApplyPipelineRequest, ApplyPipelineRequest__Output as _conveyor_v1_ApplyPipelineRequest__Output } from '../../conveyor/v1/ApplyPipelineRequest';
import type { ApplyPipelineResponse as _conveyor_v1_ApplyPipelineResponse, ApplyPipelineResponse__Output as _conveyor_v1_ApplyPipelineResponse__Output } from '../../conveyor/v1/ApplyPipelineResponse';
import type { DeletePipelineRequest as _conveyor_v1_DeletePipelineRequest, DeletePipelineRequest__Output as _conveyor_v1_DeletePipelineRequest__Output } from '../../conveyor/v1/DeletePipelineRequest';
import type { DeletePipelineResponse as _conveyor_v1_DeletePipelineResponse, DeletePipelineResponse__Output as _conveyor_v1_DeletePipelineResponse__Output } from '../../conveyor/v1/DeletePipelineResponse';
import type { GetPipelineStatusRequest as _conveyor_v1_GetPipelineStatusRequest, GetPipelineStatusRequest__Output as _conveyor_v1_GetPipelineStatusRequest__Output } from '../../conveyor/v1/GetPipelineStatusRequest';
import type { ListAssignmentsRequest as _conveyor_v1_ListAssignmentsRequest, ListAssignmentsRequest__Output as _conveyor_v1_ListAssignmentsRequest__Output } from '../../conveyor/v1/ListAssignmentsRequest';
import type { ListAssignmentsResponse as _conveyor_v1_ListAssignmentsResponse, ListAssignmentsResponse__Output as _conveyor_v1_ListAssignmentsResponse__Output } from '../../conveyor/v1/ListAssignmentsResponse';
import type { ListPipelinesRequest as _conveyor_v1_ListPipelinesRequest, ListPipelinesRequest__Output as _conveyor_v1_ListPipelinesRequest__Output } from '../../conveyor/v1/ListPipelinesRequest';
import type { ListPipelinesResponse as _conveyor_v1_ListPipelinesResponse, ListPipelinesResponse__Output as _conveyor_v1_ListPipelinesResponse__Output } from '../../conveyor/v1/ListPipelinesResponse';
import type { ListSidecarsRequest as _conveyor_v1_ListSidecarsRequest, ListSidecarsRequest__Output as _conveyor_v1_ListSidecarsRequest__Output } from '../../conveyor/v1/ListSidecarsRequest';
import type { ListSidecarsResponse as _conveyor_v1_ListSidecarsResponse, ListSidecarsResponse__Output as _conveyor_v1_ListSidecarsResponse__Output } from '../../conveyor/v1/ListSidecarsResponse';
import type { PipelineStatus as _conveyor_v1_PipelineStatus, PipelineStatus__Output as _conveyor_v1_PipelineStatus__Output } from '../../conveyor/v1/PipelineStatus';

export interface AdminClient extends grpc.Client {
  ApplyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  ApplyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  ApplyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  ApplyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  applyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  applyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  applyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  applyPipeline(argument: _conveyor_v1_ApplyPipelineRequest, callback: grpc.requestCallback<_conveyor_v1_ApplyPipelineResponse__Output>): grpc.ClientUnaryCall;
  
  DeletePipeline(argument: _conveyor_v1_DeletePipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  DeletePipeline(argument: _conveyor_v1_DeletePipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  DeletePipeline(argument: _conveyor_v1_DeletePipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  DeletePipeline(argument: _conveyor_v1_DeletePipelineRequest, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  deletePipeline(argument: _conveyor_v1_DeletePipelineRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  deletePipeline(argument: _conveyor_v1_DeletePipelineRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  deletePipeline(argument: _conveyor_v1_DeletePipelineRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  deletePipeline(argument: _conveyor_v1_DeletePipelineRequest, callback: grpc.requestCallback<_conveyor_v1_DeletePipelineResponse__Output>): grpc.ClientUnaryCall;
  
  GetPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  GetPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  GetPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  GetPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  getPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  getPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  getPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  getPipelineStatus(argument: _conveyor_v1_GetPipelineStatusRequest, callback: grpc.requestCallback<_conveyor_v1_PipelineStatus__Output>): grpc.ClientUnaryCall;
  
  ListAssignments(argument: _conveyor_v1_ListAssignmentsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  ListAssignments(argument: _conveyor_v1_ListAssignmentsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  ListAssignments(argument: _conveyor_v1_ListAssignmentsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  ListAssignments(argument: _conveyor_v1_ListAssignmentsRequest, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  listAssignments(argument: _conveyor_v1_ListAssignmentsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  listAssignments(argument: _conveyor_v1_ListAssignmentsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  listAssignments(argument: _conveyor_v1_ListAssignmentsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  listAssignments(argument: _conveyor_v1_ListAssignmentsRequest, callback: grpc.requestCallback<_conveyor_v1_ListAssignmentsResponse__Output>): grpc.ClientUnaryCall;
  
  ListPipelines(argument: _conveyor_v1_ListPipelinesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  ListPipelines(argument: _conveyor_v1_ListPipelinesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  ListPipelines(argument: _conveyor_v1_ListPipelinesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  ListPipelines(argument: _conveyor_v1_ListPipelinesRequest, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  listPipelines(argument: _conveyor_v1_ListPipelinesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  listPipelines(argument: _conveyor_v1_ListPipelinesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  listPipelines(argument: _conveyor_v1_ListPipelinesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  listPipelines(argument: _conveyor_v1_ListPipelinesRequest, callback: grpc.requestCallback<_conveyor_v1_ListPipelinesResponse__Output>): grpc.ClientUnaryCall;
  
  ListSidecars(argument: _conveyor_v1_ListSidecarsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  ListSidecars(argument: _conveyor_v1_ListSidecarsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  ListSidecars(argument: _conveyor_v1_ListSidecarsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  ListSidecars(argument: _conveyor_v1_ListSidecarsRequest, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  listSidecars(argument: _conveyor_v1_ListSidecarsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  listSidecars(argument: _conveyor_v1_ListSidecarsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  listSidecars(argument: _conveyor_v1_ListSidecarsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  listSidecars(argument: _conveyor_v1_ListSidecarsRequest, callback: grpc.requestCallback<_conveyor_v1_ListSidecarsResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface AdminHandlers extends grpc.UntypedServiceImplementation {
  ApplyPipeline: grpc.handleUnaryCall<_conveyor_v1_ApplyPipelineRequest__Output, _conveyor_v1_ApplyPipelineResponse>;
  
  DeletePipeline: grpc.handleUnaryCall<_conveyor_v1_DeletePipelineRequest__Output, _conveyor_v1_DeletePipelineResponse>;
  
  GetPipelineStatus: grpc.handleUnaryCall<_conveyor_v1_GetPipelineStatusRequest__Output, _conveyor_v1_PipelineStatus>;
  
  ListAssignments: grpc.handleUnaryCall<_conveyor_v1_ListAssignmentsRequest__Output, _conveyor_v1_ListAssignmentsResponse>;
  
  ListPipelines: grpc.handleUnaryCall<_conveyor_v1_ListPipelinesRequest__Output, _conveyor_v1_ListPipelinesResponse>;
  
  ListSidecars: grpc.handleUnaryCall<_conveyor_v1_ListSidecarsRequest__Output, _conveyor_v1_ListSidecarsResponse>;
  
}

export interface AdminDefinition extends grpc.ServiceDefinition {
  ApplyPipeline: MethodDefinition<_conveyor_v1_ApplyPipelineRequest, _conveyor_v1_ApplyPipelineResponse, _conveyor_v1_ApplyPipelineRequest__Output, _conveyor_v1_ApplyPipelineResponse__Output>
  DeletePipeline: MethodDefinition<_conveyor_v1_DeletePipelineRequest, _conveyor_v1_DeletePipelineResponse, _conveyor_v1_DeletePipelineRequest__Output, _conveyor_v1_DeletePipelineResponse__Output>
  GetPipelineStatus: MethodDefinition<_conveyor_v1_GetPipelineStatusRequest, _conveyor_v1_PipelineStatus, _conveyor_v1_GetPipelineStatusRequest__Output, _conveyor_v1_PipelineStatus__Output>
  ListAssignments: MethodDefinition<_conveyor_v1_ListAssignmentsRequest, _conveyor_v1_ListAssignmentsResponse, _conveyor_v1_ListAssignmentsRequest__Output, _conveyor_v1_ListAssignmentsResponse__Output>
  ListPipelines: MethodDefinition<_conveyor_v1_ListPipelinesRequest, _conveyor_v1_ListPipelinesResponse, _conveyor_v1_ListPipelinesRequest__Output, _conveyor_v1_ListPipelinesResponse__Output>
  ListSidecars: MethodDefinition<_conveyor_v1_ListSidecarsRequest, _conveyor_v1_ListSidecarsResponse, _conveyor_v1_ListSidecarsRequest__Output, _conveyor_v1_ListSidecarsResponse__Output>
}

// Original file: proto/conveyor/v1/dataplane.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ForwardAck as _conveyor_v1_ForwardAck, ForwardAck__Output as _conveyor_v1_ForwardAck__Output } from '../../conveyor/v1/ForwardAck';
import type { ForwardBatch as _conveyor_v1_ForwardBatch, ForwardBatch__Output as _conveyor_v1_ForwardBatch__Output } from '../../conveyor/v1/ForwardBatch';
import type { GetRoutesRequest as _conveyor_v1_GetRoutesRequest, GetRoutesRequest__Output as _conveyor_v1_GetRoutesRequest__Output } from '../../conveyor/v1/GetRoutesRequest';
import type { InjectRequest as _conveyor_v1_InjectRequest, InjectRequest__Output as _conveyor_v1_InjectRequest__Output } from '../../conveyor/v1/InjectRequest';
import type { InjectResponse as _conveyor_v1_InjectResponse, InjectResponse__Output as _conveyor_v1_InjectResponse__Output } from '../../conveyor/v1/InjectResponse';
import type { ListLocalServicesRequest as _conveyor_v1_ListLocalServicesRequest, ListLocalServicesRequest__Output as _conveyor_v1_ListLocalServicesRequest__Output } from '../../conveyor/v1/ListLocalServicesRequest';
import type { ListLocalServicesResponse as _conveyor_v1_ListLocalServicesResponse, ListLocalServicesResponse__Output as _conveyor_v1_ListLocalServicesResponse__Output } from '../../conveyor/v1/ListLocalServicesResponse';
import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from '../../conveyor/v1/Record';
import type { RoutingTable as _conveyor_v1_RoutingTable, RoutingTable__Output as _conveyor_v1_RoutingTable__Output } from '../../conveyor/v1/RoutingTable';
import type { TapRequest as _conveyor_v1_TapRequest, TapRequest__Output as _conveyor_v1_TapRequest__Output } from '../../conveyor/v1/TapRequest';

export interface DataPlaneClient extends grpc.Client {
  Forward(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ForwardBatch, _conveyor_v1_ForwardAck__Output>;
  Forward(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ForwardBatch, _conveyor_v1_ForwardAck__Output>;
  forward(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ForwardBatch, _conveyor_v1_ForwardAck__Output>;
  forward(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ForwardBatch, _conveyor_v1_ForwardAck__Output>;
  
  GetRoutes(argument: _conveyor_v1_GetRoutesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  GetRoutes(argument: _conveyor_v1_GetRoutesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  GetRoutes(argument: _conveyor_v1_GetRoutesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  GetRoutes(argument: _conveyor_v1_GetRoutesRequest, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  getRoutes(argument: _conveyor_v1_GetRoutesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  getRoutes(argument: _conveyor_v1_GetRoutesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  getRoutes(argument: _conveyor_v1_GetRoutesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  getRoutes(argument: _conveyor_v1_GetRoutesRequest, callback: grpc.requestCallback<_conveyor_v1_RoutingTable__Output>): grpc.ClientUnaryCall;
  
  Inject(argument: _conveyor_v1_InjectRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  Inject(argument: _conveyor_v1_InjectRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  Inject(argument: _conveyor_v1_InjectRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  Inject(argument: _conveyor_v1_InjectRequest, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  inject(argument: _conveyor_v1_InjectRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  inject(argument: _conveyor_v1_InjectRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  inject(argument: _conveyor_v1_InjectRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  inject(argument: _conveyor_v1_InjectRequest, callback: grpc.requestCallback<_conveyor_v1_InjectResponse__Output>): grpc.ClientUnaryCall;
  
  ListLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  ListLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  ListLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  ListLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  listLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  listLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  listLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  listLocalServices(argument: _conveyor_v1_ListLocalServicesRequest, callback: grpc.requestCallback<_conveyor_v1_ListLocalServicesResponse__Output>): grpc.ClientUnaryCall;
  
  Tap(argument: _conveyor_v1_TapRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_conveyor_v1_Record__Output>;
  Tap(argument: _conveyor_v1_TapRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_conveyor_v1_Record__Output>;
  tap(argument: _conveyor_v1_TapRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_conveyor_v1_Record__Output>;
  tap(argument: _conveyor_v1_TapRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_conveyor_v1_Record__Output>;
  
}

export interface DataPlaneHandlers extends grpc.UntypedServiceImplementation {
  Forward: grpc.handleBidiStreamingCall<_conveyor_v1_ForwardBatch__Output, _conveyor_v1_ForwardAck>;
  
  GetRoutes: grpc.handleUnaryCall<_conveyor_v1_GetRoutesRequest__Output, _conveyor_v1_RoutingTable>;
  
  Inject: grpc.handleUnaryCall<_conveyor_v1_InjectRequest__Output, _conveyor_v1_InjectResponse>;
  
  ListLocalServices: grpc.handleUnaryCall<_conveyor_v1_ListLocalServicesRequest__Output, _conveyor_v1_ListLocalServicesResponse>;
  
  Tap: grpc.handleServerStreamingCall<_conveyor_v1_TapRequest__Output, _conveyor_v1_Record>;
  
}

export interface DataPlaneDefinition extends grpc.ServiceDefinition {
  Forward: MethodDefinition<_conveyor_v1_ForwardBatch, _conveyor_v1_ForwardAck, _conveyor_v1_ForwardBatch__Output, _conveyor_v1_ForwardAck__Output>
  GetRoutes: MethodDefinition<_conveyor_v1_GetRoutesRequest, _conveyor_v1_RoutingTable, _conveyor_v1_GetRoutesRequest__Output, _conveyor_v1_RoutingTable__Output>
  Inject: MethodDefinition<_conveyor_v1_InjectRequest, _conveyor_v1_InjectResponse, _conveyor_v1_InjectRequest__Output, _conveyor_v1_InjectResponse__Output>
  ListLocalServices: MethodDefinition<_conveyor_v1_ListLocalServicesRequest, _conveyor_v1_ListLocalServicesResponse, _conveyor_v1_ListLocalServicesRequest__Output, _conveyor_v1_ListLocalServicesResponse__Output>
  Tap: MethodDefinition<_conveyor_v1_TapRequest, _conveyor_v1_Record, _conveyor_v1_TapRequest__Output, _conveyor_v1_Record__Output>
}

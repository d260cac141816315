// Original file: proto/conveyor/v1/router.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DeregisterRequest as _conveyor_v1_DeregisterRequest, DeregisterRequest__Output as _conveyor_v1_DeregisterRequest__Output } from '../../conveyor/v1/DeregisterRequest';
import type { DeregisterResponse as _conveyor_v1_DeregisterResponse, DeregisterResponse__Output as _conveyor_v1_DeregisterResponse__Output } from '../../conveyor/v1/DeregisterResponse';
import type { RegisterRequest as _conveyor_v1_RegisterRequest, RegisterRequest__Output as _conveyor_v1_RegisterRequest__Output } from '../../conveyor/v1/RegisterRequest';
import type { RegisterResponse as _conveyor_v1_RegisterResponse, RegisterResponse__Output as _conveyor_v1_RegisterResponse__Output } from '../../conveyor/v1/RegisterResponse';
import type { RoutingTable as _conveyor_v1_RoutingTable, RoutingTable__Output as _conveyor_v1_RoutingTable__Output } from '../../conveyor/v1/RoutingTable';
import type { SidecarStatus as _conveyor_v1_SidecarStatus, SidecarStatus__Output as _conveyor_v1_SidecarStatus__Output } from '../../conveyor/v1/SidecarStatus';

export interface RouterClient extends grpc.Client {
  Deregister(argument: _conveyor_v1_DeregisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  Deregister(argument: _conveyor_v1_DeregisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  Deregister(argument: _conveyor_v1_DeregisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  Deregister(argument: _conveyor_v1_DeregisterRequest, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _conveyor_v1_DeregisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _conveyor_v1_DeregisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _conveyor_v1_DeregisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  deregister(argument: _conveyor_v1_DeregisterRequest, callback: grpc.requestCallback<_conveyor_v1_DeregisterResponse__Output>): grpc.ClientUnaryCall;
  
  Heartbeat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_SidecarStatus, _conveyor_v1_RoutingTable__Output>;
  Heartbeat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_SidecarStatus, _conveyor_v1_RoutingTable__Output>;
  heartbeat(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_SidecarStatus, _conveyor_v1_RoutingTable__Output>;
  heartbeat(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_SidecarStatus, _conveyor_v1_RoutingTable__Output>;
  
  Register(argument: _conveyor_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _conveyor_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _conveyor_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  Register(argument: _conveyor_v1_RegisterRequest, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _conveyor_v1_RegisterRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _conveyor_v1_RegisterRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _conveyor_v1_RegisterRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  register(argument: _conveyor_v1_RegisterRequest, callback: grpc.requestCallback<_conveyor_v1_RegisterResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface RouterHandlers extends grpc.UntypedServiceImplementation {
  Deregister: grpc.handleUnaryCall<_conveyor_v1_DeregisterRequest__Output, _conveyor_v1_DeregisterResponse>;
  
  Heartbeat: grpc.handleBidiStreamingCall<_conveyor_v1_SidecarStatus__Output, _conveyor_v1_RoutingTable>;
  
  Register: grpc.handleUnaryCall<_conveyor_v1_RegisterRequest__Output, _conveyor_v1_RegisterResponse>;
  
}

export interface RouterDefinition extends grpc.ServiceDefinition {
  Deregister: MethodDefinition<_conveyor_v1_DeregisterRequest, _conveyor_v1_DeregisterResponse, _conveyor_v1_DeregisterRequest__Output, _conveyor_v1_DeregisterResponse__Output>
  Heartbeat: MethodDefinition<_conveyor_v1_SidecarStatus, _conveyor_v1_RoutingTable, _conveyor_v1_SidecarStatus__Output, _conveyor_v1_RoutingTable__Output>
  Register: MethodDefinition<_conveyor_v1_RegisterRequest, _conveyor_v1_RegisterResponse, _conveyor_v1_RegisterRequest__Output, _conveyor_v1_RegisterResponse__Output>
}

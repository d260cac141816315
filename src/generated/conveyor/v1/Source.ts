// Original file: proto/conveyor/v1/stages.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DescribeRequest as _conveyor_v1_DescribeRequest, DescribeRequest__Output as _conveyor_v1_DescribeRequest__Output } from '../../conveyor/v1/DescribeRequest';
import type { ReadRequest as _conveyor_v1_ReadRequest, ReadRequest__Output as _conveyor_v1_ReadRequest__Output } from '../../conveyor/v1/ReadRequest';
import type { ReadResponse as _conveyor_v1_ReadResponse, ReadResponse__Output as _conveyor_v1_ReadResponse__Output } from '../../conveyor/v1/ReadResponse';
import type { StageInfo as _conveyor_v1_StageInfo, StageInfo__Output as _conveyor_v1_StageInfo__Output } from '../../conveyor/v1/StageInfo';

export interface SourceClient extends grpc.Client {
  Describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  
  Read(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ReadRequest, _conveyor_v1_ReadResponse__Output>;
  Read(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ReadRequest, _conveyor_v1_ReadResponse__Output>;
  read(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ReadRequest, _conveyor_v1_ReadResponse__Output>;
  read(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ReadRequest, _conveyor_v1_ReadResponse__Output>;
  
}

export interface SourceHandlers extends grpc.UntypedServiceImplementation {
  Describe: grpc.handleUnaryCall<_conveyor_v1_DescribeRequest__Output, _conveyor_v1_StageInfo>;
  
  Read: grpc.handleBidiStreamingCall<_conveyor_v1_ReadRequest__Output, _conveyor_v1_ReadResponse>;
  
}

export interface SourceDefinition extends grpc.ServiceDefinition {
  Describe: MethodDefinition<_conveyor_v1_DescribeRequest, _conveyor_v1_StageInfo, _conveyor_v1_DescribeRequest__Output, _conveyor_v1_StageInfo__Output>
  Read: MethodDefinition<_conveyor_v1_ReadRequest, _conveyor_v1_ReadResponse, _conveyor_v1_ReadRequest__Output, _conveyor_v1_ReadResponse__Output>
}

// Original file: proto/conveyor/v1/stages.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DescribeRequest as _conveyor_v1_DescribeRequest, DescribeRequest__Output as _conveyor_v1_DescribeRequest__Output } from '../../conveyor/v1/DescribeRequest';
import type { StageInfo as _conveyor_v1_StageInfo, StageInfo__Output as _conveyor_v1_StageInfo__Output } from '../../conveyor/v1/StageInfo';
import type { WriteRequest as _conveyor_v1_WriteRequest, WriteRequest__Output as _conveyor_v1_WriteRequest__Output } from '../../conveyor/v1/WriteRequest';
import type { WriteResponse as _conveyor_v1_WriteResponse, WriteResponse__Output as _conveyor_v1_WriteResponse__Output } from '../../conveyor/v1/WriteResponse';

export interface SinkClient extends grpc.Client {
  Describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  
  Write(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_WriteRequest, _conveyor_v1_WriteResponse__Output>;
  Write(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_WriteRequest, _conveyor_v1_WriteResponse__Output>;
  write(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_WriteRequest, _conveyor_v1_WriteResponse__Output>;
  write(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_WriteRequest, _conveyor_v1_WriteResponse__Output>;
  
}

export interface SinkHandlers extends grpc.UntypedServiceImplementation {
  Describe: grpc.handleUnaryCall<_conveyor_v1_DescribeRequest__Output, _conveyor_v1_StageInfo>;
  
  Write: grpc.handleBidiStreamingCall<_conveyor_v1_WriteRequest__Output, _conveyor_v1_WriteResponse>;
  
}

export interface SinkDefinition extends grpc.ServiceDefinition {
  Describe: MethodDefinition<_conveyor_v1_DescribeRequest, _conveyor_v1_StageInfo, _conveyor_v1_DescribeRequest__Output, _conveyor_v1_StageInfo__Output>
  Write: MethodDefinition<_conveyor_v1_WriteRequest, _conveyor_v1_WriteResponse, _conveyor_v1_WriteRequest__Output, _conveyor_v1_WriteResponse__Output>
}

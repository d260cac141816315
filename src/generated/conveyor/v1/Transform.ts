// Original file: proto/conveyor/v1/stages.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { DescribeRequest as _conveyor_v1_DescribeRequest, DescribeRequest__Output as _conveyor_v1_DescribeRequest__Output } from '../../conveyor/v1/DescribeRequest';
import type { ProcessRequest as _conveyor_v1_ProcessRequest, ProcessRequest__Output as _conveyor_v1_ProcessRequest__Output } from '../../conveyor/v1/ProcessRequest';
import type { ProcessResponse as _conveyor_v1_ProcessResponse, ProcessResponse__Output as _conveyor_v1_ProcessResponse__Output } from '../../conveyor/v1/ProcessResponse';
import type { StageInfo as _conveyor_v1_StageInfo, StageInfo__Output as _conveyor_v1_StageInfo__Output } from '../../conveyor/v1/StageInfo';

export interface TransformClient extends grpc.Client {
  Describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  Describe(argument: _conveyor_v1_DescribeRequest, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  describe(argument: _conveyor_v1_DescribeRequest, callback: grpc.requestCallback<_conveyor_v1_StageInfo__Output>): grpc.ClientUnaryCall;
  
  Process(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ProcessRequest, _conveyor_v1_ProcessResponse__Output>;
  Process(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ProcessRequest, _conveyor_v1_ProcessResponse__Output>;
  process(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ProcessRequest, _conveyor_v1_ProcessResponse__Output>;
  process(options?: grpc.CallOptions): grpc.ClientDuplexStream<_conveyor_v1_ProcessRequest, _conveyor_v1_ProcessResponse__Output>;
  
}

export interface TransformHandlers extends grpc.UntypedServiceImplementation {
  Describe: grpc.handleUnaryCall<_conveyor_v1_DescribeRequest__Output, _conveyor_v1_StageInfo>;
  
  Process: grpc.handleBidiStreamingCall<_conveyor_v1_ProcessRequest__Output, _conveyor_v1_ProcessResponse>;
  
}

export interface TransformDefinition extends grpc.ServiceDefinition {
  Describe: MethodDefinition<_conveyor_v1_DescribeRequest, _conveyor_v1_StageInfo, _conveyor_v1_DescribeRequest__Output, _conveyor_v1_StageInfo__Output>
  Process: MethodDefinition<_conveyor_v1_ProcessRequest, _conveyor_v1_ProcessResponse, _conveyor_v1_ProcessRequest__Output, _conveyor_v1_ProcessResponse__Output>
}

import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DescribeRequest as _conveyor_v1_DescribeRequest, DescribeRequest__Output as _conveyor_v1_DescribeRequest__Output } from './conveyor/v1/DescribeRequest';
import type { ProcessRequest as _conveyor_v1_ProcessRequest, ProcessRequest__Output as _conveyor_v1_ProcessRequest__Output } from './conveyor/v1/ProcessRequest';
import type { ProcessResponse as _conveyor_v1_ProcessResponse, ProcessResponse__Output as _conveyor_v1_ProcessResponse__Output } from './conveyor/v1/ProcessResponse';
import type { ReadRequest as _conveyor_v1_ReadRequest, ReadRequest__Output as _conveyor_v1_ReadRequest__Output } from './conveyor/v1/ReadRequest';
import type { ReadResponse as _conveyor_v1_ReadResponse, ReadResponse__Output as _conveyor_v1_ReadResponse__Output } from './conveyor/v1/ReadResponse';
import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from './conveyor/v1/Record';
import type { RecordError as _conveyor_v1_RecordError, RecordError__Output as _conveyor_v1_RecordError__Output } from './conveyor/v1/RecordError';
import type { SinkClient as _conveyor_v1_SinkClient, SinkDefinition as _conveyor_v1_SinkDefinition } from './conveyor/v1/Sink';
import type { SourceClient as _conveyor_v1_SourceClient, SourceDefinition as _conveyor_v1_SourceDefinition } from './conveyor/v1/Source';
import type { StageInfo as _conveyor_v1_StageInfo, StageInfo__Output as _conveyor_v1_StageInfo__Output } from './conveyor/v1/StageInfo';
import type { TransformClient as _conveyor_v1_TransformClient, TransformDefinition as _conveyor_v1_TransformDefinition } from './conveyor/v1/Transform';
import type { TransformResult as _conveyor_v1_TransformResult, TransformResult__Output as _conveyor_v1_TransformResult__Output } from './conveyor/v1/TransformResult';
import type { WriteRequest as _conveyor_v1_WriteRequest, WriteRequest__Output as _conveyor_v1_WriteRequest__Output } from './conveyor/v1/WriteRequest';
import type { WriteResponse as _conveyor_v1_WriteResponse, WriteResponse__Output as _conveyor_v1_WriteResponse__Output } from './conveyor/v1/WriteResponse';
import type { WriteResult as _conveyor_v1_WriteResult, WriteResult__Output as _conveyor_v1_WriteResult__Output } from './conveyor/v1/WriteResult';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  conveyor: {
    v1: {
      DescribeRequest: MessageTypeDefinition<_conveyor_v1_DescribeRequest, _conveyor_v1_DescribeRequest__Output>
      ProcessRequest: MessageTypeDefinition<_conveyor_v1_ProcessRequest, _conveyor_v1_ProcessRequest__Output>
      ProcessResponse: MessageTypeDefinition<_conveyor_v1_ProcessResponse, _conveyor_v1_ProcessResponse__Output>
      ReadRequest: MessageTypeDefinition<_conveyor_v1_ReadRequest, _conveyor_v1_ReadRequest__Output>
      ReadResponse: MessageTypeDefinition<_conveyor_v1_ReadResponse, _conveyor_v1_ReadResponse__Output>
      Record: MessageTypeDefinition<_conveyor_v1_Record, _conveyor_v1_Record__Output>
      RecordError: MessageTypeDefinition<_conveyor_v1_RecordError, _conveyor_v1_RecordError__Output>
      Sink: SubtypeConstructor<typeof grpc.Client, _conveyor_v1_SinkClient> & { service: _conveyor_v1_SinkDefinition }
      Source: SubtypeConstructor<typeof grpc.Client, _conveyor_v1_SourceClient> & { service: _conveyor_v1_SourceDefinition }
      StageInfo: MessageTypeDefinition<_conveyor_v1_StageInfo, _conveyor_v1_StageInfo__Output>
      StageKind: EnumTypeDefinition
      Transform: SubtypeConstructor<typeof grpc.Client, _conveyor_v1_TransformClient> & { service: _conveyor_v1_TransformDefinition }
      TransformResult: MessageTypeDefinition<_conveyor_v1_TransformResult, _conveyor_v1_TransformResult__Output>
      WriteRequest: MessageTypeDefinition<_conveyor_v1_WriteRequest, _conveyor_v1_WriteRequest__Output>
      WriteResponse: MessageTypeDefinition<_conveyor_v1_WriteResponse, _conveyor_v1_WriteResponse__Output>
      WriteResult: MessageTypeDefinition<_conveyor_v1_WriteResult, _conveyor_v1_WriteResult__Output>
    }
  }
}


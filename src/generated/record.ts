import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { DescribeRequest as _conveyor_v1_DescribeRequest, DescribeRequest__Output as _conveyor_v1_DescribeRequest__Output } from './conveyor/v1/DescribeRequest';
import type { Record as _conveyor_v1_Record, Record__Output as _conveyor_v1_Record__Output } from './conveyor/v1/Record';
import type { RecordError as _conveyor_v1_RecordError, RecordError__Output as _conveyor_v1_RecordError__Output } from './conveyor/v1/RecordError';
import type { StageInfo as _conveyor_v1_StageInfo, StageInfo__Output as _conveyor_v1_StageInfo__Output } from './conveyor/v1/StageInfo';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  conveyor: {
    v1: {
      DescribeRequest: MessageTypeDefinition<_conveyor_v1_DescribeRequest, _conveyor_v1_DescribeRequest__Output>
      Record: MessageTypeDefinition<_conveyor_v1_Record, _conveyor_v1_Record__Output>
      RecordError: MessageTypeDefinition<_conveyor_v1_RecordError, _conveyor_v1_RecordError__Output>
      StageInfo: MessageTypeDefinition<_conveyor_v1_StageInfo, _conveyor_v1_StageInfo__Output>
      StageKind: EnumTypeDefinition
    }
  }
}


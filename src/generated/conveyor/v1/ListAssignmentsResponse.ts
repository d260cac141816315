// Original file: proto/conveyor/v1/router.proto

import type { AssignmentInfo as _conveyor_v1_AssignmentInfo, AssignmentInfo__Output as _conveyor_v1_AssignmentInfo__Output } from '../../conveyor/v1/AssignmentInfo';
import type { Long } from '@grpc/proto-loader';

export interface ListAssignmentsResponse {
  'assignments'?: (_conveyor_v1_AssignmentInfo)[];
  'generation'?: (number | string | Long);
}

export interface ListAssignmentsResponse__Output {
  'assignments': (_conveyor_v1_AssignmentInfo__Output)[];
  'generation': (number);
}

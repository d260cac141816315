// Original file: proto/conveyor/v1/router.proto


export interface ListAssignmentsRequest {
  'pipeline'?: (string);
}

export interface ListAssignmentsRequest__Output {
  'pipeline': (string);
}

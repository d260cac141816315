// Original file: proto/conveyor/v1/router.proto


export interface GetPipelineStatusRequest {
  'name'?: (string);
}

export interface GetPipelineStatusRequest__Output {
  'name': (string);
}

// Original file: proto/conveyor/v1/router.proto


export interface DeletePipelineRequest {
  'name'?: (string);
}

export interface DeletePipelineRequest__Output {
  'name': (string);
}

// Original file: proto/conveyor/v1/router.proto


export interface DeletePipelineResponse {
  'deleted'?: (boolean);
}

export interface DeletePipelineResponse__Output {
  'deleted': (boolean);
}

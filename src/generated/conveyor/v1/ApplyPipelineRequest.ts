// Original file: proto/conveyor/v1/router.proto


export interface ApplyPipelineRequest {
  'definition'?: (string);
}

export interface ApplyPipelineRequest__Output {
  'definition': (string);
}

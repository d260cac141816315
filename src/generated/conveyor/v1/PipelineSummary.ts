// Original file: proto/conveyor/v1/router.proto


export interface PipelineSummary {
  'name'?: (string);
  'stages'?: (string)[];
  'definitionJson'?: (string);
  'state'?: (string);
}

export interface PipelineSummary__Output {
  'name': (string);
  'stages': (string)[];
  'definitionJson': (string);
  'state': (string);
}

// Original file: proto/conveyor/v1/dataplane.proto


export interface TapRequest {
  'pipeline'?: (string);
  'stage'?: (string);
  'maxRecords'?: (number);
  'sampleEvery'?: (number);
}

export interface TapRequest__Output {
  'pipeline': (string);
  'stage': (string);
  'maxRecords': (number);
  'sampleEvery': (number);
}

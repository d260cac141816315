// Original file: proto/conveyor/v1/stages.proto


export interface ReadRequest {
  'credits'?: (number);
  'ackCursor'?: (string);
  'pipeline'?: (string);
  'partitions'?: (number)[];
}

export interface ReadRequest__Output {
  'credits': (number);
  'ackCursor': (string);
  'pipeline': (string);
  'partitions': (number)[];
}

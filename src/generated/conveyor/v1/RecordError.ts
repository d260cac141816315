// Original file: proto/conveyor/v1/record.proto


export interface RecordError {
  'message'?: (string);
  'retryable'?: (boolean);
  'code'?: (string);
}

export interface RecordError__Output {
  'message': (string);
  'retryable': (boolean);
  'code': (string);
}

// Original file: proto/conveyor/v1/dataplane.proto


export interface RetryPolicy {
  'maxRetries'?: (number);
  'backoffMs'?: (number);
  'maxBackoffMs'?: (number);
}

export interface RetryPolicy__Output {
  'maxRetries': (number);
  'backoffMs': (number);
  'maxBackoffMs': (number);
}

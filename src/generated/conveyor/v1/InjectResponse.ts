// Original file: proto/conveyor/v1/dataplane.proto


export interface InjectResponse {
  'delivered'?: (number);
  'ids'?: (string)[];
  'filtered'?: (number);
  'deadLettered'?: (number);
}

export interface InjectResponse__Output {
  'delivered': (number);
  'ids': (string)[];
  'filtered': (number);
  'deadLettered': (number);
}

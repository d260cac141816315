// Original file: proto/conveyor/v1/dataplane.proto


export interface StageInstance {
  'sidecarId'?: (string);
  'peerAddress'?: (string);
  'serviceEndpoint'?: (string);
  'serviceName'?: (string);
  'partitions'?: (number)[];
}

export interface StageInstance__Output {
  'sidecarId': (string);
  'peerAddress': (string);
  'serviceEndpoint': (string);
  'serviceName': (string);
  'partitions': (number)[];
}

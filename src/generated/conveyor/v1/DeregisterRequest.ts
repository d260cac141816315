// Original file: proto/conveyor/v1/router.proto


export interface DeregisterRequest {
  'sidecarId'?: (string);
}

export interface DeregisterRequest__Output {
  'sidecarId': (string);
}

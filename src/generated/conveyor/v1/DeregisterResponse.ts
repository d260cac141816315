// Original file: proto/conveyor/v1/router.proto


export interface DeregisterResponse {
}

export interface DeregisterResponse__Output {
}

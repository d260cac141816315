// Original file: proto/conveyor/v1/router.proto


export interface ListSidecarsRequest {
}

export interface ListSidecarsRequest__Output {
}

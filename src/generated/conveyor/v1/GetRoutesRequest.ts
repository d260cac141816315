// Original file: proto/conveyor/v1/dataplane.proto


export interface GetRoutesRequest {
}

export interface GetRoutesRequest__Output {
}

// Original file: proto/conveyor/v1/dataplane.proto


export interface ListLocalServicesRequest {
}

export interface ListLocalServicesRequest__Output {
}

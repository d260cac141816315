// Original file: proto/conveyor/v1/router.proto


export interface ListPipelinesRequest {
}

export interface ListPipelinesRequest__Output {
}

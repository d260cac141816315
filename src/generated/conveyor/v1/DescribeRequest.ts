// Original file: proto/conveyor/v1/record.proto


export interface DescribeRequest {
}

export interface DescribeRequest__Output {
}

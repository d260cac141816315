// Original file: proto/conveyor/v1/record.proto

export const StageKind = {
  STAGE_KIND_UNSPECIFIED: 'STAGE_KIND_UNSPECIFIED',
  STAGE_KIND_SOURCE: 'STAGE_KIND_SOURCE',
  STAGE_KIND_TRANSFORM: 'STAGE_KIND_TRANSFORM',
  STAGE_KIND_SINK: 'STAGE_KIND_SINK',
} as const;

export type StageKind =
  | 'STAGE_KIND_UNSPECIFIED'
  | 0
  | 'STAGE_KIND_SOURCE'
  | 1
  | 'STAGE_KIND_TRANSFORM'
  | 2
  | 'STAGE_KIND_SINK'
  | 3

export type StageKind__Output = typeof StageKind[keyof typeof StageKind]

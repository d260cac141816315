// Original file: proto/conveyor/v1/dataplane.proto


export interface InjectRecord {
  'id'?: (string);
  'key'?: (string);
  'valueJson'?: (string);
  'headers'?: ({[key: string]: string});
  'value'?: (Buffer | Uint8Array | string);
  '_value'?: "value";
}

export interface InjectRecord__Output {
  'id': (string);
  'key': (string);
  'valueJson': (string);
  'headers': ({[key: string]: string});
  'value'?: (Buffer);
  '_value'?: "value";
}

"""A Conveyor Sink in Python: appends each record as one NDJSON line
{"id", "key", "value", "headers"} to a file and fsyncs before it answers (an
answer without an error means durable). Run with stubs on PYTHONPATH:

    python sink.py --name out --port 50053 --file /tmp/out.ndjson
"""

import json
import os

from conveyor.v1 import record_pb2, stages_pb2, stages_pb2_grpc

from conveyor_stage import arguments, log, serve


class NdjsonSink(stages_pb2_grpc.SinkServicer):
    def __init__(self, name: str, file: str) -> None:
        self.name = name
        self.file = open(file, "ab")

    def Describe(self, request, context):
        return record_pb2.StageInfo(name=self.name, kind=record_pb2.STAGE_KIND_SINK, version="1")

    def Write(self, request_iterator, context):
        for req in request_iterator:
            lines = b"".join(
                json.dumps(
                    {
                        "id": r.id,
                        "key": r.key.decode("utf-8", "replace"),
                        "value": r.value.decode("utf-8", "replace"),
                        "headers": dict(r.headers),
                    },
                    separators=(",", ":"),
                ).encode()
                + b"\n"
                for r in req.records
            )
            self.file.write(lines)
            self.file.flush()
            os.fsync(self.file.fileno())
            yield stages_pb2.WriteResponse(
                batch_id=req.batch_id, results=[stages_pb2.WriteResult(id=r.id) for r in req.records]
            )


def main() -> None:
    parser = arguments("A Conveyor Sink in Python")
    parser.add_argument("--file", required=True)
    args = parser.parse_args()
    serve(
        args.name,
        "conveyor.v1.Sink",
        lambda server: stages_pb2_grpc.add_SinkServicer_to_server(NdjsonSink(args.name, args.file), server),
        args.host,
        args.port,
    )


if __name__ == "__main__":
    main()

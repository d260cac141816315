"""A Conveyor Transform in Python: each JSON value {"n": k, ...} gains "twice": 2k
and a header py=transformed; keys and ids are kept. Run with stubs on PYTHONPATH:

    python transform.py --name twice --port 50052
"""

import json

from conveyor.v1 import record_pb2, stages_pb2, stages_pb2_grpc

from conveyor_stage import arguments, log, serve


class Twice(stages_pb2_grpc.TransformServicer):
    def __init__(self, name: str) -> None:
        self.name = name

    def Describe(self, request, context):
        return record_pb2.StageInfo(name=self.name, kind=record_pb2.STAGE_KIND_TRANSFORM, version="1")

    def Process(self, request_iterator, context):
        # One response per request, in order; exactly one result per input record.
        for req in request_iterator:
            results = []
            for r in req.records:
                try:
                    value = json.loads(r.value)
                    value["twice"] = value["n"] * 2
                except (ValueError, KeyError, TypeError) as err:
                    results.append(
                        stages_pb2.TransformResult(
                            error=record_pb2.RecordError(message=str(err), retryable=False, code="BAD_VALUE")
                        )
                    )
                    continue
                out = record_pb2.Record()
                out.CopyFrom(r)
                out.value = json.dumps(value, separators=(",", ":")).encode()
                out.headers["py"] = "transformed"
                results.append(stages_pb2.TransformResult(records=[out]))
            yield stages_pb2.ProcessResponse(batch_id=req.batch_id, results=results)


def main() -> None:
    args = arguments("A Conveyor Transform in Python").parse_args()
    log(args.name, "starting")
    serve(
        args.name,
        "conveyor.v1.Transform",
        lambda server: stages_pb2_grpc.add_TransformServicer_to_server(Twice(args.name), server),
        args.host,
        args.port,
    )


if __name__ == "__main__":
    main()

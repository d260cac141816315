"""A Conveyor Transform in Python: each JSON value {"n": k, ...} gains "twice": 2k
and a header py=transformed; keys and ids are kept. With --slow-id, the first
batch holding that record takes --slow-secs to answer (a long call: no data on
the stream meanwhile). Run with stubs on PYTHONPATH:

    python transform.py --name twice --port 50052 [--slow-id py-299 --slow-secs 190]
"""

import json
import time

from conveyor.v1 import record_pb2, stages_pb2, stages_pb2_grpc

from conveyor_stage import arguments, log, serve


class Twice(stages_pb2_grpc.TransformServicer):
    def __init__(self, name: str, slow_id: str, slow_secs: float) -> None:
        self.name = name
        self.slow_id = slow_id
        self.slow_secs = slow_secs

    def Describe(self, request, context):
        return record_pb2.StageInfo(name=self.name, kind=record_pb2.STAGE_KIND_TRANSFORM, version="1")

    def Process(self, request_iterator, context):
        # One response per request, in order; exactly one result per input record.
        for req in request_iterator:
            if self.slow_id and any(r.id == self.slow_id for r in req.records):
                self.slow_id = ""  # only once: a retry is answered at once
                log(self.name, f"batch {req.batch_id}: taking {self.slow_secs:g} s to answer")
                time.sleep(self.slow_secs)
                log(self.name, f"batch {req.batch_id}: answering after {self.slow_secs:g} s")
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
    parser = arguments("A Conveyor Transform in Python")
    parser.add_argument("--slow-id", default="", help="the record whose batch is answered slowly, once")
    parser.add_argument("--slow-secs", type=float, default=0)
    args = parser.parse_args()
    serve(
        args.name,
        "conveyor.v1.Transform",
        lambda server: stages_pb2_grpc.add_TransformServicer_to_server(Twice(args.name, args.slow_id, args.slow_secs), server),
        args.host,
        args.port,
    )


if __name__ == "__main__":
    main()

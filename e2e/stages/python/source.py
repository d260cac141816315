"""A Conveyor Source in Python: one unpartitioned stream of `--first` records,
then (from when the last of them was sent) silence for `--pause-secs`, then
`--then` more.
Record n has id "py-<n>", key "k<n % 16>" and value {"n": n}.

The cursor contract (proto/conveyor/v1/stages.proto): a ReadResponse's cursor
names the last record in it (here its offset n); the sidecar acks a cursor once
every record up to and including it is durable; a new Read stream resumes after
the last acked cursor. Acks arrive in the order the cursors were sent. The
source sends no more records than the credits it was granted.

    python source.py --name gen --port 50051 --first 500 --pause-secs 190 --then 500
"""

import json
import threading
import time

import grpc

from conveyor.v1 import record_pb2, stages_pb2, stages_pb2_grpc

from conveyor_stage import arguments, log, serve

MAX_BATCH = 100


class QuietSource(stages_pb2_grpc.SourceServicer):
    def __init__(self, name: str, first: int, pause_secs: float, then: int) -> None:
        self.name = name
        self.first = first
        self.total = first + then
        self.pause_secs = pause_secs
        self.lock = threading.Condition()
        self.acked = -1  # the last acked offset; a new stream resumes after it
        self.release_at = None  # when records past `first` may be read

    def Describe(self, request, context):
        return record_pb2.StageInfo(name=self.name, kind=record_pb2.STAGE_KIND_SOURCE, version="1")

    def available(self) -> int:
        """How many records exist now (the end offset, exclusive)."""
        if self.release_at is not None and time.monotonic() >= self.release_at:
            return self.total
        return self.first

    def Read(self, request_iterator, context):
        state = {"credits": 0, "closed": False}
        handshake = next(request_iterator, None)
        if handshake is None:
            return
        if handshake.partitions:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "this source has no partitions")
        state["credits"] += handshake.credits
        log(self.name, f"read from pipeline {handshake.pipeline}, resuming after offset {self.acked}")

        def consume() -> None:
            try:
                for req in request_iterator:
                    with self.lock:
                        state["credits"] += req.credits
                        if req.ack_cursor:
                            self.on_ack(int(req.ack_cursor))
                        self.lock.notify_all()
            except Exception as err:  # the stream ended or broke: the generator below stops
                log(self.name, f"read stream ended: {err!r}")
            finally:
                with self.lock:
                    state["closed"] = True
                    self.lock.notify_all()

        threading.Thread(target=consume, daemon=True).start()
        with self.lock:
            next_offset = self.acked + 1
        while context.is_active():
            with self.lock:
                end = self.available()
                if state["closed"]:
                    return
                if state["credits"] == 0 or next_offset >= end:
                    self.lock.wait(timeout=0.5)
                    continue
                count = min(state["credits"], MAX_BATCH, end - next_offset)
                state["credits"] -= count
            records = [
                record_pb2.Record(
                    id=f"py-{n}",
                    key=f"k{n % 16}".encode(),
                    value=json.dumps({"n": n}, separators=(",", ":")).encode(),
                    event_time_ms=int(time.time() * 1000),
                )
                for n in range(next_offset, next_offset + count)
            ]
            next_offset += count
            if next_offset == self.first and self.release_at is None:
                with self.lock:
                    self.release_at = time.monotonic() + self.pause_secs
                log(self.name, f"first {self.first} records sent; quiet for {self.pause_secs:g} s")
            yield stages_pb2.ReadResponse(records=records, cursor=str(next_offset - 1))

    def on_ack(self, offset: int) -> None:
        """Called with the lock held."""
        self.acked = max(self.acked, offset)
        log(self.name, f"acked up to and including offset {offset}")


def main() -> None:
    parser = arguments("A Conveyor Source in Python")
    parser.add_argument("--first", type=int, default=500)
    parser.add_argument("--pause-secs", type=float, default=0)
    parser.add_argument("--then", type=int, default=0)
    args = parser.parse_args()
    source = QuietSource(args.name, args.first, args.pause_secs, args.then)
    serve(
        args.name,
        "conveyor.v1.Source",
        lambda server: stages_pb2_grpc.add_SourceServicer_to_server(source, server),
        args.host,
        args.port,
    )


if __name__ == "__main__":
    main()

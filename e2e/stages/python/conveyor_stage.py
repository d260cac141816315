"""What every Conveyor stage service in Python needs besides its own logic.

A stage is a plain gRPC server: it implements one service of
proto/conveyor/v1/stages.proto, serves server reflection (grpcio-reflection
serves v1alpha, which the sidecar's discovery reads) so that the sidecar finds
it on a pod-local port, and serves grpc.health.v1 so that tools can tell when
it is ready. The server keeps grpcio's default options: the sidecar's channels
are made to suit them.

The stubs (conveyor.v1.*_pb2) are generated from proto/ with grpc_tools.protoc
into a directory on PYTHONPATH (the e2e test does this in a temp dir).
"""

import argparse
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--name", required=True, help="the stage name pipelines refer to (Describe().name)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    return parser


def log(name: str, message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {name}: {message}", file=sys.stderr, flush=True)


def serve(name: str, service_name: str, register, host: str, port: int) -> None:
    """Serves `register(server)` with reflection and health on host:port until SIGTERM."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    register(server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (service_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(service_name, health_pb2.HealthCheckResponse.SERVING)
    log(name, f"serving {service_name} on {host}:{port}")

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    parent = os.getppid()
    # Stop with the process that started us, even when it was killed (no orphans after a test).
    while not stopped.wait(1.0):
        if os.getppid() != parent:
            break
    health_servicer.enter_graceful_shutdown()
    server.stop(grace=2).wait()
    log(name, "stopped")

#!/usr/bin/env python3
"""grpcio-health-checking's client against a server's grpc.health.v1.Health.

    health_probe.py --port N --service NAME [--timeout S]

Calls, with the stub of PyPI's grpcio-health-checking (gRPC's C core
underneath), and prints one line for each answer, flushed at once:

    check '' SERVING              Check of the server as a whole
    check NAME SERVING            Check of NAME
    check no.such.Service NOT_FOUND
    list '' NAME ...              the names List reports, sorted
    watch SERVING                 each status a Watch of NAME sends ...

and exits 0 once the Watch has sent NOT_SERVING (the other side changes the
status when it reads "watch SERVING"); 1 if an answer is not what the
protocol says it must be, or nothing comes within --timeout seconds.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

NAMES = health_pb2.HealthCheckResponse.ServingStatus.Name


def say(line: str) -> None:
    print(line, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args()
    with grpc.insecure_channel(f"127.0.0.1:{args.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", args.service):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name),
                               timeout=args.timeout)
            say(f"check {name or repr('')} {NAMES(reply.status)}")
        try:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"),
                       timeout=args.timeout)
            say("check no.such.Service answered, NOT_FOUND expected")
            return 1
        except grpc.RpcError as e:
            say(f"check no.such.Service {e.code().name}")
            if e.code() != grpc.StatusCode.NOT_FOUND:
                return 1
        listed = stub.List(health_pb2.HealthListRequest(), timeout=args.timeout)
        say("list " + " ".join(sorted(n or repr("") for n in listed.statuses)))
        watch = stub.Watch(health_pb2.HealthCheckRequest(service=args.service),
                           timeout=args.timeout)
        try:
            for reply in watch:
                status = NAMES(reply.status)
                say(f"watch {status}")
                if status == "NOT_SERVING":
                    watch.cancel()
                    return 0
        except grpc.RpcError as e:
            say(f"watch ended: {e.code().name}: {e.details()}")
            return 1
        say("watch ended before NOT_SERVING")
        return 1


if __name__ == "__main__":
    sys.exit(main())

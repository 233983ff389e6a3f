#!/usr/bin/env python3
"""grpcio-reflection's client against a server's reflection service.

    reflection_probe.py --port N [--expect-service NAME ...]
    reflection_probe.py --server-cmd "target/debug/interop-server --port {port}" \\
        [--expect-service NAME ...]

With PyPI grpcio-reflection's ProtoReflectionDescriptorDatabase (the
grpc.reflection.v1alpha client that gRPC's Python tools use) under a
protobuf DescriptorPool, it lists the server's services and resolves every
one: each method, its request and response types, and every message type
their fields name, through files and imports fetched by reflection. It
prints, sorted:

    service NAME
    method SERVICE.METHOD REQUEST -> RESPONSE
    message NAME                      every message type reached
    unknown symbol NOT_FOUND          a symbol the server does not know
    extensions MESSAGE [...]          the first message's extension numbers
    extensions of an unknown type NOT_FOUND

Exit status: 0 everything resolved and every --expect-service is listed;
1 not; 2 setup failed. With --server-cmd the server is started on a free
port in its own process group and stopped at the end (run_matrix.Server).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def probe(port: int, expected: list[str]) -> int:
    import grpc
    from google.protobuf import descriptor_pool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    lines = []
    ok = True
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        services = sorted(database.get_services())
        reached = set()

        def reach(message):
            if message.full_name in reached:
                return
            reached.add(message.full_name)
            for field in message.fields:
                if field.message_type is not None:
                    reach(field.message_type)

        for name in services:
            lines.append(f"service {name}")
            service = pool.FindServiceByName(name)
            for method in service.methods:
                lines.append(f"method {name}.{method.name} "
                             f"{method.input_type.full_name} -> "
                             f"{method.output_type.full_name}")
                reach(method.input_type)
                reach(method.output_type)
        lines.extend(f"message {m}" for m in sorted(reached))
        try:
            pool.FindMessageTypeByName("no.such.Message")
            lines.append("unknown symbol FOUND")
            ok = False
        except KeyError:
            lines.append("unknown symbol NOT_FOUND")
        if reached:
            first = sorted(reached)[0]
            numbers = database.FindAllExtensionNumbers(first)
            lines.append(f"extensions {first} {sorted(numbers)}")
        try:
            database.FindAllExtensionNumbers("no.such.Message")
            lines.append("extensions of an unknown type FOUND")
            ok = False
        except KeyError:
            lines.append("extensions of an unknown type NOT_FOUND")
    for line in lines:
        print(line, flush=True)
    missing = [s for s in expected if s not in services]
    if missing:
        print(f"FAIL: not listed: {missing}")
        ok = False
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int)
    ap.add_argument("--server-cmd")
    ap.add_argument("--expect-service", action="append", default=[])
    args = ap.parse_args()
    if (args.port is None) == (args.server_cmd is None):
        ap.error("give one of --port and --server-cmd")
    if args.port is not None:
        return probe(args.port, args.expect_service)
    sys.path.insert(0, str(HERE))
    import run_matrix

    port = run_matrix.free_port("127.0.0.1")
    argv = shlex.split(args.server_cmd.replace("{port}", str(port)))
    try:
        server = run_matrix.Server(argv, "127.0.0.1", port, startup_timeout=30)
    except run_matrix.SetupError as e:
        print(f"setup: {e}", file=sys.stderr)
        return 2
    try:
        return probe(port, args.expect_service)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())

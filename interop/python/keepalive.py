#!/usr/bin/env python3
"""gRPC C core (grpcio) as the client that pings too often, against a server
command: the server must end the connection with GOAWAY ENHANCE_YOUR_CALM
and debug data "too_many_pings" (gRFC A8), which C core reports and answers
by doubling its keepalive time, and the client's calls must go on working on
a new connection.

  keepalive.py --server-cmd "target/debug/interop-server --port {port}"

The server is started in its own process group on a free port and that group
is stopped at the end (run_matrix.Server); the client runs as a process of
its own (this script with --client), bounded by --timeout, so that C core's
log on stderr can be read. Exit status: 0 passed, 1 failed, 2 setup failed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def client(port: int) -> int:
    import grpc

    import interop_common as common

    pb = common.load_protos()
    options = [
        # Ping every 50 ms, with or without calls, and without waiting for
        # data in between: far more often than a server allows by default
        # (5 minutes).
        ("grpc.keepalive_time_ms", 50),
        ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
        stub = pb.test_pb2_grpc.TestServiceStub(channel)
        stub.EmptyCall(pb.empty_pb2.Empty(), timeout=10)
        # C core sends at most a ping a second: long enough for four, the
        # first free and the third strike ending the connection.
        time.sleep(6)
        # A new connection serves the next calls.
        for _ in range(3):
            stub.EmptyCall(pb.empty_pb2.Empty(), timeout=10, wait_for_ready=True)
    print("calls ok", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server-cmd")
    ap.add_argument("--client", type=int, metavar="PORT",
                    help="(internal) run the pinging client against PORT")
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    if args.client is not None:
        return client(args.client)
    if not args.server_cmd:
        ap.error("--server-cmd is required")

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
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--client", str(port)],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=args.timeout,
            start_new_session=True)
        out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
        alive = server.alive()
    except subprocess.TimeoutExpired:
        print(f"FAIL: the client did not finish within {args.timeout:g} s")
        return 1
    finally:
        server.stop()
    failures = []
    if proc.returncode != 0:
        failures.append(f"the client's calls failed (exit status {proc.returncode})")
    if "too_many_pings" not in out:
        failures.append("C core reported no GOAWAY too_many_pings")
    if not alive:
        failures.append("the server died")
    if failures:
        print("FAIL keepalive: " + "; ".join(failures))
        print("\n".join("    " + line for line in out.splitlines()[-40:]))
        return 1
    print("PASS keepalive: GOAWAY too_many_pings reached C core, and its calls "
          "went on over a new connection")
    return 0


if __name__ == "__main__":
    sys.exit(main())

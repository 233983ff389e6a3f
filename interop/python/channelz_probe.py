#!/usr/bin/env python3
"""grpcio-channelz's client against a server's grpc.channelz.v1.Channelz.

    channelz_probe.py --port N [--host H] [--page-size K] [--timeout S]

With the stub of PyPI's grpcio-channelz (gRPC's C core underneath), it
pages through GetServers (K servers a page, 0 letting the server choose),
asks GetServer for each, pages through GetServerSockets of each, asks
GetSocket for each listen socket and each connection, and asks for ids
that cannot exist (0, -1 and one past every id seen) of GetServer,
GetServerSockets and GetSocket. It prints one JSON object, keys sorted,
messages as protobuf's JSON mapping with the proto field names:

    {"servers": [Server, ...],            every server, by id
     "server_sockets": {"ID": [SocketRef, ...]},
     "sockets": {"ID": Socket, ...},      listen sockets and connections
     "pages": {"servers": P, "server_sockets": {"ID": P}},   calls made
     "unknown": {"GetServer 0": "NOT_FOUND", ...}}

Exit status: 0 printed, every server's GetServer matched its listing,
every page before the last was full and not `end`, and every unknown id
was NOT_FOUND; 1 not (after printing); 2 setup failed.
"""

from __future__ import annotations

import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--page-size", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args()
    try:
        import grpc
        from google.protobuf import json_format
        from grpc_channelz.v1 import channelz_pb2 as pb
        from grpc_channelz.v1 import channelz_pb2_grpc as pb_grpc
    except ImportError as e:
        print(f"setup: {e} (pip install -r interop/python/requirements.txt)",
              file=sys.stderr)
        return 2

    def as_dict(message):
        return json_format.MessageToDict(message,
                                         preserving_proto_field_name=True)

    problems: list[str] = []
    out: dict = {"servers": [], "server_sockets": {}, "sockets": {},
                 "pages": {"servers": 0, "server_sockets": {}},
                 "unknown": {}}
    highest = 0
    with grpc.insecure_channel(f"{args.host}:{args.port}") as channel:
        stub = pb_grpc.ChannelzStub(channel)
        t = args.timeout

        servers = []
        start = 0
        while True:
            page = stub.GetServers(pb.GetServersRequest(
                start_server_id=start, max_results=args.page_size), timeout=t)
            out["pages"]["servers"] += 1
            servers.extend(page.server)
            if page.end or not page.server:
                if not page.end:
                    problems.append("GetServers: an empty page without end")
                break
            if args.page_size and len(page.server) != args.page_size:
                problems.append("GetServers: a short page without end")
            start = page.server[-1].ref.server_id + 1
        for server in servers:
            sid = server.ref.server_id
            highest = max(highest, sid)
            out["servers"].append(as_dict(server))
            got = stub.GetServer(pb.GetServerRequest(server_id=sid),
                                 timeout=t).server
            if got.ref != server.ref or got.listen_socket != server.listen_socket:
                problems.append(f"GetServer {sid}: differs from GetServers")
            refs = []
            start = 0
            pages = 0
            while True:
                page = stub.GetServerSockets(pb.GetServerSocketsRequest(
                    server_id=sid, start_socket_id=start,
                    max_results=args.page_size), timeout=t)
                pages += 1
                refs.extend(page.socket_ref)
                if page.end or not page.socket_ref:
                    if not page.end:
                        problems.append(
                            f"GetServerSockets {sid}: an empty page without end")
                    break
                start = page.socket_ref[-1].socket_id + 1
            out["pages"]["server_sockets"][str(sid)] = pages
            out["server_sockets"][str(sid)] = [as_dict(r) for r in refs]
            for ref in list(server.listen_socket) + refs:
                highest = max(highest, ref.socket_id)
                sock = stub.GetSocket(pb.GetSocketRequest(
                    socket_id=ref.socket_id), timeout=t).socket
                if sock.ref.socket_id != ref.socket_id:
                    problems.append(f"GetSocket {ref.socket_id}: another socket")
                out["sockets"][str(ref.socket_id)] = as_dict(sock)

        unknown_ids = (0, -1, highest + 1)
        calls = [
            ("GetServer", lambda i: stub.GetServer(
                pb.GetServerRequest(server_id=i), timeout=t)),
            ("GetServerSockets", lambda i: stub.GetServerSockets(
                pb.GetServerSocketsRequest(server_id=i), timeout=t)),
            ("GetSocket", lambda i: stub.GetSocket(
                pb.GetSocketRequest(socket_id=i), timeout=t)),
        ]
        for name, call in calls:
            for i in unknown_ids:
                key = f"{name} {'next' if i == highest + 1 else i}"
                try:
                    call(i)
                    out["unknown"][key] = "OK"
                    problems.append(f"{key}: answered, NOT_FOUND expected")
                except grpc.RpcError as e:
                    out["unknown"][key] = e.code().name
                    if e.code() != grpc.StatusCode.NOT_FOUND:
                        problems.append(f"{key}: {e.code().name}")

    print(json.dumps(out, sort_keys=True, separators=(",", ":")), flush=True)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

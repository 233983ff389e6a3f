#!/usr/bin/env python3
"""grpcio (C-core) interop server: grpc.testing.TestService.

    interop_server.py --port N [--host HOST] [--inject_fault F,...]
                      [--use_tls true --tls_cert_file CERT --tls_key_file KEY]

Implements the "Server" part of gRPC's interop test descriptions
(doc/interop-test-descriptions.md) for our Rust interop-client to run the
matrix against. See README.md beside this file for what it does and where
grpcio needs help:

* Echo Metadata: "x-grpc-test-echo-initial" is sent back in the initial
  metadata, "x-grpc-test-echo-trailing-bin" in the trailing metadata, of
  every TestService method.
* Echo Status: a request's `response_status` ends the call with that code
  and message (unary: when code != 0; streams: at once, whatever the code),
  without further responses.
* Payloads are bodies of zeros of the requested sizes; `response_type` other
  than COMPRESSABLE is INVALID_ARGUMENT, as are negative sizes.
* CompressedRequest: `expect_compressed`, when set, is checked against the
  real compressed flag of that very message (true: must have arrived
  compressed; false: must not); a mismatch is INVALID_ARGUMENT.
* CompressedResponse: `response_compressed` / `ResponseParameters.compressed`
  true sends that message gzip-compressed, false (or unset) uncompressed.
* `interval_us` is slept before each response (relative to the previous
  one), waking early when the call is cancelled.
* TestService/UnimplementedCall and UnimplementedService are not registered,
  so calling them ends with UNIMPLEMENTED as on any gRPC server.

--use_tls true serves TLS (grpc.ssl_server_credentials) with the PEM
certificate chain of --tls_cert_file and the PEM private key of
--tls_key_file; both are then required. Client certificates are neither
asked for nor checked. Without --use_tls (or with --use_tls false) the
server speaks plaintext HTTP/2.

--inject_fault makes the server misbehave on purpose, to show that the
client's checks fail for real (see FAULTS and README.md). Never use it for
the real matrix.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time
from concurrent import futures

import grpc

import interop_common as common

FAULTS = {
    "no_echo_initial": "do not echo x-grpc-test-echo-initial",
    "no_echo_trailing": "do not echo x-grpc-test-echo-trailing-bin",
    "ignore_response_status": "ignore response_status, answer normally",
    "mangle_status_message": "strip the whitespace around the echoed "
                             "status message",
    "short_payload": "every response body one byte short",
    "nonzero_payload": "response bodies of 0x01 bytes instead of zeros",
    "extra_response": "one more response than asked for on response streams",
    "never_compress": "ignore response_compressed / compressed: never "
                      "compress",
    "always_compress": "compress every response message",
    "ignore_expect_compressed": "never reject on expect_compressed",
    "wrong_aggregate": "StreamingInputCall reports one byte more",
    "implement_unimplemented": "answer TestService/UnimplementedCall with OK",
    "streams_ignore_echo": "FullDuplexCall echoes neither metadata nor "
                           "response_status (UnaryCall still does)",
}

_SERVER_ID = f"rust-rpc-interop-python-{os.getpid()}"


class _Call:
    """Per-call helper: metadata echo, lazily sent headers, failures."""

    def __init__(self, service, context: grpc.ServicerContext):
        self.service = service
        self.ctx = context
        md = tuple(context.invocation_metadata() or ())
        self.initial = tuple(
            (k, v) for k, v in md if k == common.INITIAL_METADATA_KEY)
        if service.fault("no_echo_initial"):
            self.initial = ()
        trailing = tuple(
            (k, v) for k, v in md if k == common.TRAILING_METADATA_KEY)
        if trailing and not service.fault("no_echo_trailing"):
            context.set_trailing_metadata(trailing)
        self.headers_sent = False
        self.compressing = False

    def send_headers(self, compress: bool = False) -> None:
        """Sends the initial metadata (with the echo) once.

        grpcio fixes the call's compression algorithm when the initial
        metadata goes out (context.set_compression() after that has no
        effect), so it is chosen here, before the first response.
        """
        if self.headers_sent:
            return
        if self.service.fault("always_compress"):
            compress = True
        if self.service.fault("never_compress"):
            compress = False
        self.ctx.set_compression(
            grpc.Compression.Gzip if compress else grpc.Compression.NoCompression)
        self.compressing = compress
        if self.initial:
            self.ctx.send_initial_metadata(self.initial)
        self.headers_sent = True

    def fail(self, code: grpc.StatusCode, message: str):
        """Ends the call with code and message (raises)."""
        self.send_headers()
        self.ctx.abort(code, message)

    def echo_status(self, status) -> None:
        """Ends the call with the status a request asked for (raises)."""
        message = status.message
        if self.service.fault("mangle_status_message"):
            message = message.strip()
        code = common.status_code_from_int(status.code)
        if code is None:
            # grpcio can only send the codes of grpc.StatusCode (0..16).
            self.fail(grpc.StatusCode.UNKNOWN,
                      f"(status code {status.code} cannot be sent by grpcio) "
                      f"{message}")
        if code is grpc.StatusCode.OK:
            self.send_headers()
            self.ctx.set_code(grpc.StatusCode.OK)
            self.ctx.set_details(message)
            return
        self.fail(code, message)

    def check_expect_compressed(self, received: common.Received,
                                expect_field) -> None:
        if self.service.fault("ignore_expect_compressed"):
            return
        expected = expect_field.value
        if expected != received.compressed:
            self.fail(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"expect_compressed is {str(expected).lower()} but the "
                f"request message arrived "
                f"{'compressed (' + received.compression + ')' if received.compressed else 'uncompressed'}")

    def sleep(self, interval_us: int) -> bool:
        """Sleeps interval_us; False if the call ended meanwhile."""
        deadline = time.monotonic() + interval_us / 1e6
        while True:
            if not self.ctx.is_active():
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, 0.05))


def make_service(faults: set[str]):
    pb = common.load_protos()
    messages = pb.messages_pb2
    empty = pb.empty_pb2

    class Service(pb.test_pb2_grpc.TestServiceServicer):
        def __init__(self):
            self.faults = faults

        def fault(self, name: str) -> bool:
            return name in self.faults

        # ---- helpers -----------------------------------------------------

        def _body(self, size: int, call: _Call) -> bytes:
            if size < 0:
                call.fail(grpc.StatusCode.INVALID_ARGUMENT,
                          f"negative payload size {size}")
            if self.fault("short_payload") and size > 0:
                size -= 1
            fill = b"\x01" if self.fault("nonzero_payload") else b"\x00"
            return fill * size

        def _check_type(self, response_type: int, call: _Call) -> None:
            if response_type != messages.COMPRESSABLE:
                call.fail(grpc.StatusCode.INVALID_ARGUMENT,
                          f"unsupported response_type {response_type}")

        def _stream_responses(self, call: _Call, request):
            """Yields the responses one StreamingOutputCallRequest asks for."""
            self._check_type(request.response_type, call)
            params = list(request.response_parameters)
            if self.fault("extra_response") and params:
                params.append(params[-1])
            wants = [p.HasField("compressed") and p.compressed.value
                     for p in params]
            for p, want in zip(params, wants):
                if p.interval_us > 0 and not call.sleep(p.interval_us):
                    return
                body = self._body(p.size, call)
                if not call.headers_sent:
                    # Call-level compression is chosen with the first
                    # response; per-message flags then turn it off where
                    # not wanted.
                    call.send_headers(compress=any(wants))
                if want and not call.compressing and not (
                        self.fault("never_compress")):
                    call.fail(
                        grpc.StatusCode.UNIMPLEMENTED,
                        "a compressed response was asked for after the "
                        "first response of this call went out uncompressed;"
                        " this grpcio server fixes compression with the "
                        "first response")
                if call.compressing and not want and not self.fault(
                        "always_compress"):
                    call.ctx.disable_next_message_compression()
                yield messages.StreamingOutputCallResponse(
                    payload=messages.Payload(type=messages.COMPRESSABLE,
                                             body=body))

        # ---- TestService ---------------------------------------------------

        def EmptyCall(self, request, context):
            call = _Call(self, context)
            call.send_headers()
            return empty.Empty()

        def UnaryCall(self, request, context):
            call = _Call(self, context)
            req = request.msg
            if req.HasField("expect_compressed"):
                call.check_expect_compressed(request, req.expect_compressed)
            self._check_type(req.response_type, call)
            if req.HasField("response_status") and (
                    req.response_status.code != 0) and not self.fault(
                        "ignore_response_status"):
                call.echo_status(req.response_status)
            body = self._body(req.response_size, call)
            call.send_headers(compress=req.HasField("response_compressed")
                              and req.response_compressed.value)
            resp = messages.SimpleResponse(
                payload=messages.Payload(type=messages.COMPRESSABLE,
                                         body=body))
            if req.fill_server_id:
                resp.server_id = _SERVER_ID
                resp.hostname = socket.gethostname()
            # fill_username / fill_oauth_scope: no authentication here, so
            # they stay empty; fill_grpclb_route_type: no gRPCLB, so
            # GRPCLB_ROUTE_TYPE_UNKNOWN (the default).
            return resp

        def CacheableUnaryCall(self, request, context):
            call = _Call(self, context)
            req = request.msg
            self._check_type(req.response_type, call)
            call.initial = call.initial + (
                ("cache-control", "max-age=60, public"),)
            call.send_headers()
            return messages.SimpleResponse(payload=messages.Payload(
                type=messages.COMPRESSABLE,
                body=str(time.time_ns()).encode()))

        def StreamingOutputCall(self, request, context):
            call = _Call(self, context)
            req = request.msg
            if req.HasField("response_status") and not self.fault(
                    "ignore_response_status"):
                call.echo_status(req.response_status)
                return
            yield from self._stream_responses(call, req)
            call.send_headers()

        def StreamingInputCall(self, request_iterator, context):
            call = _Call(self, context)
            total = 0
            for request in request_iterator:
                req = request.msg
                if req.HasField("expect_compressed"):
                    call.check_expect_compressed(request,
                                                 req.expect_compressed)
                total += len(req.payload.body)
            if self.fault("wrong_aggregate"):
                total += 1
            call.send_headers()
            return messages.StreamingInputCallResponse(
                aggregated_payload_size=total)

        def FullDuplexCall(self, request_iterator, context):
            call = _Call(self, context)
            if self.fault("streams_ignore_echo"):
                call.initial = ()
                context.set_trailing_metadata(())
            for request in request_iterator:
                req = request.msg
                if req.HasField("response_status") and not self.fault(
                        "ignore_response_status") and not self.fault(
                            "streams_ignore_echo"):
                    call.echo_status(req.response_status)
                    return
                yield from self._stream_responses(call, req)
            call.send_headers()

        def HalfDuplexCall(self, request_iterator, context):
            call = _Call(self, context)
            requests = []
            for request in request_iterator:
                req = request.msg
                if req.HasField("response_status") and not self.fault(
                        "ignore_response_status"):
                    call.echo_status(req.response_status)
                    return
                requests.append(req)
            for req in requests:
                yield from self._stream_responses(call, req)
            call.send_headers()

        def UnimplementedCall(self, request, context):
            # Only registered with --inject_fault implement_unimplemented.
            return empty.Empty()

    return Service()


def build_handler(service, pb) -> grpc.GenericRpcHandler:
    """Method handlers for TestService from the service descriptor, with
    decoders that report each request message's compressed flag."""
    handlers = {}
    desc = pb.test_pb2.DESCRIPTOR.services_by_name["TestService"]
    modules = (pb.messages_pb2, pb.empty_pb2)

    def cls(message_desc):
        for module in modules:
            if hasattr(module, message_desc.name):
                return getattr(module, message_desc.name)
        raise KeyError(message_desc.full_name)

    for method in desc.methods:
        if method.name == "UnimplementedCall" and not service.fault(
                "implement_unimplemented"):
            continue  # the interop servers must not implement it
        impl = getattr(service, method.name)
        kwargs = dict(
            request_deserializer=common.decoder(cls(method.input_type)),
            response_serializer=lambda m: m.SerializeToString())
        if method.client_streaming and method.server_streaming:
            handler = grpc.stream_stream_rpc_method_handler(impl, **kwargs)
        elif method.client_streaming:
            handler = grpc.stream_unary_rpc_method_handler(impl, **kwargs)
        elif method.server_streaming:
            handler = grpc.unary_stream_rpc_method_handler(impl, **kwargs)
        else:
            handler = grpc.unary_unary_rpc_method_handler(impl, **kwargs)
        handlers[method.name] = handler
    return grpc.method_handlers_generic_handler(desc.full_name, handlers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True,
                    help="port to listen on (0: any free port)")
    ap.add_argument("--use_tls", nargs="?", const="true", default="false",
                    help="serve TLS (true|false, default false)")
    ap.add_argument("--tls_cert_file", default=None,
                    help="PEM certificate chain to serve with --use_tls")
    ap.add_argument("--tls_key_file", default=None,
                    help="PEM private key of --tls_cert_file")
    ap.add_argument("--host", default="localhost",
                    help="address to bind (default localhost: 127.0.0.1 "
                         "and ::1)")
    ap.add_argument("--reflection", action="store_true",
                    help="serve gRPC server reflection (grpcio-reflection) "
                         "for grpc.testing.TestService")
    ap.add_argument("--inject_fault", default="",
                    help="comma-separated deliberate bugs, for testing the "
                         "client: " + ", ".join(sorted(FAULTS)))
    args = ap.parse_args(argv)

    try:
        use_tls = common.parse_bool_flag(args.use_tls)
    except ValueError as e:
        ap.error(str(e))
    credentials = None
    if use_tls:
        if not args.tls_cert_file or not args.tls_key_file:
            ap.error("--use_tls needs --tls_cert_file and --tls_key_file")
        try:
            with open(args.tls_cert_file, "rb") as f:
                cert = f.read()
            with open(args.tls_key_file, "rb") as f:
                key = f.read()
        except OSError as e:
            print(f"interop_server: {e}", file=sys.stderr)
            return 2
        credentials = grpc.ssl_server_credentials([(key, cert)])
    faults = {f for f in args.inject_fault.split(",") if f}
    unknown = faults - FAULTS.keys()
    if unknown:
        ap.error(f"unknown fault(s) {sorted(unknown)}; known: "
                 f"{sorted(FAULTS)}")

    pb = common.load_protos()
    service = make_service(faults)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=32),
        handlers=(build_handler(service, pb),),
        options=common.RAW_COMPRESSION_OPTIONS)
    if args.reflection:
        from grpc_reflection.v1alpha import reflection
        reflection.enable_server_reflection(
            ["grpc.testing.TestService", reflection.SERVICE_NAME], server)
    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        if credentials is None:
            port = server.add_insecure_port(f"{host}:{args.port}")
        else:
            port = server.add_secure_port(f"{host}:{args.port}", credentials)
    except RuntimeError:
        port = 0  # grpcio 1.85 raises here instead of returning 0
    if port == 0:
        why = "" if credentials is None else (
            " with TLS (C-core's log above says why; an invalid certificate "
            "or key is one reason)")
        print(f"interop_server: cannot bind {host}:{args.port}{why}",
              file=sys.stderr)
        return 1
    server.start()

    stop = threading.Event()

    def on_signal(signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    note = " (TLS)" if credentials is not None else ""
    note += f" (faults: {','.join(sorted(faults))})" if faults else ""
    print(f"interop_server: listening on {host}:{port}{note}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop(grace=1).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""grpcio (C-core) interop client: runs one interop test case.

    interop_client.py --server_host H --server_port N --test_case NAME
                      [--use_tls true [--use_test_ca true --ca_file CA]]
                      [--server_host_override NAME]
                      [--rpc_timeout SECONDS] [--inject_fault F,...]

Implements the client test cases of gRPC's interop test descriptions
(doc/interop-test-descriptions.md) listed in CASES, for running the matrix
against our Rust interop-server. Exit status: 0 pass, 1 fail (what was
expected and what came is printed), 2 usage error (or an unreadable
--ca_file).

--use_tls true connects over TLS (grpc.ssl_channel_credentials). The server's
certificate is checked against the PEM roots of --ca_file with
--use_test_ca true, and against the system's roots otherwise. This client
has no test CA of its own, so --use_test_ca needs --ca_file. It does not
present a client certificate. --server_host_override NAME is the name the
server's certificate must carry (C-core's grpc.ssl_target_name_override)
and the :authority of every call (grpc.default_authority), as the public
interop tests use it; without TLS it is only the :authority.

Beyond what most grpcio clients can check, this one sees each response
message's compressed flag (interop_common: `grpc.per_message_decompression`
0) and the length of each response as framed, so server_compressed_* and
empty_unary assert the flag and the zero-byte encoding. Per-message request
compression (client_compressed_streaming) uses a narrow hook into grpcio
internals; see interop_common.per_message_client_compression() and
README.md.

--inject_fault makes this client misbehave on purpose, to show that the
server's expect_compressed checks reject for real (see FAULTS).
"""

from __future__ import annotations

import argparse
import queue
import sys
import traceback
from typing import Any, Callable, Optional

import grpc

import interop_common as common

FAULTS = {
    "no_request_compression": "send every request uncompressed",
    "compress_probes": "compress the expect_compressed probes that must go "
                       "uncompressed",
    "compress_uncompressed": "compress the expect_compressed=false requests "
                             "that must go uncompressed",
}

TRAILING_VALUE = b"\xab\xab\xab"  # 0xababab
INITIAL_VALUE = "test_initial_metadata_value"
SPECIAL_MESSAGE = ("\t\ntest with whitespace\r\nand Unicode BMP \u263a "
                   "and non-BMP \U0001f608\t\n")

pb: Any = None  # generated modules, set in main()
messages: Any = None
empty: Any = None


class Failure(Exception):
    """A test assertion failed."""


def expect(cond: bool, what: str, expected: Any, got: Any) -> None:
    if not cond:
        raise Failure(f"{what}: expected {expected}, got {got}")


def _short(value: Any, limit: int = 200) -> str:
    s = repr(value)
    return s if len(s) <= limit else s[:limit] + f"... ({len(s)} chars)"


class RequestQueue:
    """Request iterator for client/bidi streams fed one message at a time."""

    _END = object()

    def __init__(self):
        self._q: "queue.Queue[Any]" = queue.Queue()

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get()
        if item is self._END:
            self._q.put(self._END)  # stay ended
            raise StopIteration
        return item

    def send(self, msg) -> None:
        self._q.put(msg)

    def close(self) -> None:
        self._q.put(self._END)


class Stub:
    """Multi-callables for both services, built from the service descriptors,
    with decoders that report each response's compressed flag."""

    def __init__(self, channel: grpc.Channel, service_name: str):
        desc = pb.test_pb2.DESCRIPTOR.services_by_name[service_name]
        for method in desc.methods:
            path = f"/{desc.full_name}/{method.name}"
            out_cls = _message_class(method.output_type)
            kwargs = dict(request_serializer=common.serialize_request,
                          response_deserializer=common.decoder(out_cls))
            if method.client_streaming and method.server_streaming:
                mc = channel.stream_stream(path, **kwargs)
            elif method.client_streaming:
                mc = channel.stream_unary(path, **kwargs)
            elif method.server_streaming:
                mc = channel.unary_stream(path, **kwargs)
            else:
                mc = channel.unary_unary(path, **kwargs)
            setattr(self, method.name, mc)


def _message_class(message_desc):
    for module in (messages, empty):
        if hasattr(module, message_desc.name):
            return getattr(module, message_desc.name)
    raise KeyError(message_desc.full_name)


class Client:
    def __init__(self, channel: grpc.Channel, rpc_timeout: float,
                 faults: set[str]):
        self.test = Stub(channel, "TestService")
        self.unimplemented = Stub(channel, "UnimplementedService")
        self.timeout = rpc_timeout
        self.faults = faults

    # ---- helpers ---------------------------------------------------------

    def compress(self, kind: str) -> bool:
        """Whether to compress a request of `kind`: "probe" (must go
        uncompressed), "compressed" or "uncompressed"."""
        if "no_request_compression" in self.faults:
            return False
        if kind == "probe":
            return "compress_probes" in self.faults
        if kind == "uncompressed":
            return "compress_uncompressed" in self.faults
        return True

    def request_compression(self, kind: str) -> Optional[grpc.Compression]:
        """Call-level compression for a request of `kind` (see compress())."""
        return grpc.Compression.Gzip if self.compress(kind) else None

    def check_payload(self, what: str, payload, size: int) -> None:
        expect(payload.type == messages.COMPRESSABLE, f"{what} payload type",
               "COMPRESSABLE", payload.type)
        expect(len(payload.body) == size, f"{what} payload body size", size,
               len(payload.body))
        expect(payload.body.count(0) == size, f"{what} payload body",
               "all zero bytes", f"{size - payload.body.count(0)} non-zero")

    def expect_status(self, what: str, call_or_error, code: grpc.StatusCode,
                      details: Optional[str] = None) -> None:
        got = call_or_error.code()
        expect(got == code, f"{what} status code",
               f"{code.name} ({code.value[0]})",
               f"{got.name} ({got.value[0]}) "
               f"details={_short(call_or_error.details())}")
        if details is not None:
            expect(call_or_error.details() == details, f"{what} status message",
                   repr(details), repr(call_or_error.details()))

    def expect_rpc_error(self, what: str, fn: Callable[[], Any],
                         code: grpc.StatusCode,
                         details: Optional[str] = None) -> None:
        try:
            result = fn()
        except grpc.RpcError as err:
            self.expect_status(what, err, code, details)
            return
        raise Failure(f"{what}: expected status {code.name}, got OK "
                      f"(result {_short(result)})")

    def large_request(self, **fields):
        return messages.SimpleRequest(
            response_type=messages.COMPRESSABLE, response_size=314159,
            payload=messages.Payload(body=common.zeros(271828)), **fields)

    def expect_metadata(self, what: str, metadata, key: str, value) -> None:
        values = [v for k, v in (metadata or ()) if k == key]
        expect(values == [value], f"{what}: values of {key!r}", [value],
               values)

    # ---- test cases -----------------------------------------------------

    def empty_unary(self):
        resp, call = self.test.EmptyCall.with_call(
            empty.Empty(), timeout=self.timeout)
        expect(isinstance(resp.msg, empty.Empty), "response type",
               "grpc.testing.Empty", type(resp.msg).__name__)
        expect(resp.size == 0, "serialized response length", "0 bytes",
               f"{resp.size} bytes")
        self.expect_status("EmptyCall", call, grpc.StatusCode.OK)

    def large_unary(self):
        resp = self.test.UnaryCall(self.large_request(), timeout=self.timeout)
        self.check_payload("response", resp.msg.payload, 314159)
        golden = messages.SimpleResponse(payload=messages.Payload(
            type=messages.COMPRESSABLE, body=common.zeros(314159)))
        expect(resp.msg == golden, "response", "exactly the golden "
               "SimpleResponse (only the payload set)",
               _short(resp.msg.ListFields()))

    def client_compressed_unary(self):
        true = messages.BoolValue(value=True)
        false = messages.BoolValue(value=False)
        # 1. Probe: uncompressed, but claims to be compressed.
        self.expect_rpc_error(
            "probe (uncompressed request with expect_compressed=true)",
            lambda: self.test.UnaryCall(
                self.large_request(expect_compressed=true),
                compression=self.request_compression("probe"),
                timeout=self.timeout),
            grpc.StatusCode.INVALID_ARGUMENT)
        # 2. Compressed, expect_compressed=true.
        resp = self.test.UnaryCall(
            self.large_request(expect_compressed=true),
            compression=self.request_compression("compressed"),
            timeout=self.timeout)
        self.check_payload("response to the compressed request",
                           resp.msg.payload, 314159)
        # 3. Uncompressed, expect_compressed=false.
        resp = self.test.UnaryCall(
            self.large_request(expect_compressed=false),
            compression=self.request_compression("uncompressed"),
            timeout=self.timeout)
        self.check_payload("response to the uncompressed request",
                           resp.msg.payload, 314159)

    def server_compressed_unary(self):
        for want in (True, False):
            req = self.large_request(
                response_compressed=messages.BoolValue(value=want))
            resp = self.test.UnaryCall(req, timeout=self.timeout)
            expect(resp.compressed == want,
                   f"response_compressed={str(want).lower()}: compressed "
                   "flag of the response message",
                   "set" if want else "not set",
                   f"set ({resp.compression})" if resp.compressed
                   else "not set")
            self.check_payload(
                f"response_compressed={str(want).lower()} response",
                resp.msg.payload, 314159)

    def client_streaming(self):
        sizes = (27182, 8, 1828, 45904)
        reqs = [messages.StreamingInputCallRequest(
            payload=messages.Payload(body=common.zeros(n))) for n in sizes]
        resp, call = self.test.StreamingInputCall.with_call(
            iter(reqs), timeout=self.timeout)
        expect(resp.msg.aggregated_payload_size == 74922,
               "aggregated_payload_size", 74922,
               resp.msg.aggregated_payload_size)
        self.expect_status("StreamingInputCall", call, grpc.StatusCode.OK)

    def client_compressed_streaming(self):
        true = messages.BoolValue(value=True)
        false = messages.BoolValue(value=False)
        # 1. Probe: one uncompressed message claiming to be compressed.
        probe = messages.StreamingInputCallRequest(
            expect_compressed=true,
            payload=messages.Payload(body=common.zeros(27182)))
        self.expect_rpc_error(
            "probe (uncompressed message with expect_compressed=true)",
            lambda: self.test.StreamingInputCall(
                iter([probe]), compression=self.request_compression("probe"),
                timeout=self.timeout),
            grpc.StatusCode.INVALID_ARGUMENT)
        # 2. One call: a compressed message, then an uncompressed one.
        first = messages.StreamingInputCallRequest(
            expect_compressed=true,
            payload=messages.Payload(body=common.zeros(27182)))
        second = messages.StreamingInputCallRequest(
            expect_compressed=false,
            payload=messages.Payload(body=common.zeros(45904)))
        if not self.compress("uncompressed"):
            second = common.NoCompress(second)
        with common.per_message_client_compression():
            resp = self.test.StreamingInputCall(
                iter([first, second]),
                compression=self.request_compression("compressed"),
                timeout=self.timeout)
        expect(resp.msg.aggregated_payload_size == 73086,
               "aggregated_payload_size", 73086,
               resp.msg.aggregated_payload_size)

    def server_streaming(self):
        sizes = (31415, 9, 2653, 58979)
        req = messages.StreamingOutputCallRequest(
            response_type=messages.COMPRESSABLE,
            response_parameters=[messages.ResponseParameters(size=n)
                                 for n in sizes])
        call = self.test.StreamingOutputCall(req, timeout=self.timeout)
        responses = list(call)
        expect(len(responses) == len(sizes), "number of responses",
               len(sizes), len(responses))
        for i, (resp, n) in enumerate(zip(responses, sizes)):
            self.check_payload(f"response {i + 1}", resp.msg.payload, n)
            golden = messages.StreamingOutputCallResponse(
                payload=messages.Payload(body=common.zeros(n)))
            expect(resp.msg == golden, f"response {i + 1}", "golden",
                   _short(resp.msg.ListFields()))
        self.expect_status("StreamingOutputCall", call, grpc.StatusCode.OK)

    def server_compressed_streaming(self):
        params = ((True, 31415), (False, 92653))
        req = messages.StreamingOutputCallRequest(
            response_type=messages.COMPRESSABLE,
            response_parameters=[
                messages.ResponseParameters(
                    compressed=messages.BoolValue(value=want), size=n)
                for want, n in params])
        call = self.test.StreamingOutputCall(req, timeout=self.timeout)
        responses = list(call)
        expect(len(responses) == len(params), "number of responses",
               len(params), len(responses))
        for i, (resp, (want, n)) in enumerate(zip(responses, params)):
            expect(resp.compressed == want,
                   f"response {i + 1} (compressed={str(want).lower()}): "
                   "compressed flag", "set" if want else "not set",
                   f"set ({resp.compression})" if resp.compressed
                   else "not set")
            self.check_payload(f"response {i + 1}", resp.msg.payload, n)
        self.expect_status("StreamingOutputCall", call, grpc.StatusCode.OK)

    def ping_pong(self):
        response_sizes = (31415, 9, 2653, 58979)
        payload_sizes = (27182, 8, 1828, 45904)
        requests = RequestQueue()
        call = self.test.FullDuplexCall(requests, timeout=self.timeout)
        try:
            for i, (rsize, psize) in enumerate(
                    zip(response_sizes, payload_sizes)):
                requests.send(messages.StreamingOutputCallRequest(
                    response_type=messages.COMPRESSABLE,
                    response_parameters=[
                        messages.ResponseParameters(size=rsize)],
                    payload=messages.Payload(body=common.zeros(psize))))
                try:
                    resp = next(call)
                except StopIteration:
                    raise Failure(
                        f"response to request {i + 1}: expected one, the "
                        f"stream ended (status {call.code().name})") from None
                self.check_payload(f"response {i + 1}", resp.msg.payload,
                                   rsize)
            requests.close()
            rest = list(call)
            expect(not rest, "responses after the half-close", 0, len(rest))
            self.expect_status("FullDuplexCall", call, grpc.StatusCode.OK)
        finally:
            requests.close()

    def empty_stream(self):
        call = self.test.FullDuplexCall(iter(()), timeout=self.timeout)
        responses = list(call)
        expect(not responses, "number of responses", 0, len(responses))
        self.expect_status("FullDuplexCall", call, grpc.StatusCode.OK)

    def cancel_after_begin(self):
        requests = RequestQueue()
        try:
            future = self.test.StreamingInputCall.future(
                requests, timeout=self.timeout)
            future.cancel()
            self.expect_status("StreamingInputCall", future,
                               grpc.StatusCode.CANCELLED)
        finally:
            requests.close()

    def cancel_after_first_response(self):
        requests = RequestQueue()
        call = self.test.FullDuplexCall(requests, timeout=self.timeout)
        try:
            requests.send(messages.StreamingOutputCallRequest(
                response_type=messages.COMPRESSABLE,
                response_parameters=[messages.ResponseParameters(size=31415)],
                payload=messages.Payload(body=common.zeros(27182))))
            try:
                resp = next(call)
            except StopIteration:
                raise Failure("first response: expected one, the stream "
                              f"ended (status {call.code().name})") from None
            self.check_payload("first response", resp.msg.payload, 31415)
            call.cancel()
            self.expect_rpc_error("FullDuplexCall after cancel",
                                  lambda: next(call),
                                  grpc.StatusCode.CANCELLED)
            self.expect_status("FullDuplexCall", call,
                               grpc.StatusCode.CANCELLED)
        finally:
            requests.close()

    def timeout_on_sleeping_server(self):
        requests = RequestQueue()
        call = self.test.FullDuplexCall(requests, timeout=0.001)
        try:
            requests.send(messages.StreamingOutputCallRequest(
                response_type=messages.COMPRESSABLE,
                payload=messages.Payload(body=common.zeros(27182))))
            self.expect_rpc_error("FullDuplexCall with a 1 ms deadline",
                                  lambda: list(call),
                                  grpc.StatusCode.DEADLINE_EXCEEDED)
        finally:
            requests.close()

    def custom_metadata(self):
        md = ((common.INITIAL_METADATA_KEY, INITIAL_VALUE),
              (common.TRAILING_METADATA_KEY, TRAILING_VALUE))
        # 1. UnaryCall
        resp, call = self.test.UnaryCall.with_call(
            self.large_request(), metadata=md, timeout=self.timeout)
        self.check_payload("UnaryCall response", resp.msg.payload, 314159)
        self.expect_metadata("UnaryCall initial metadata",
                             call.initial_metadata(),
                             common.INITIAL_METADATA_KEY, INITIAL_VALUE)
        self.expect_metadata("UnaryCall trailing metadata",
                             call.trailing_metadata(),
                             common.TRAILING_METADATA_KEY, TRAILING_VALUE)
        # 2. FullDuplexCall, then half-close.
        req = messages.StreamingOutputCallRequest(
            response_type=messages.COMPRESSABLE,
            response_parameters=[messages.ResponseParameters(size=314159)],
            payload=messages.Payload(body=common.zeros(271828)))
        call = self.test.FullDuplexCall(iter([req]), metadata=md,
                                        timeout=self.timeout)
        responses = list(call)
        expect(len(responses) == 1, "FullDuplexCall number of responses", 1,
               len(responses))
        self.check_payload("FullDuplexCall response", responses[0].msg.payload,
                           314159)
        self.expect_status("FullDuplexCall", call, grpc.StatusCode.OK)
        self.expect_metadata("FullDuplexCall initial metadata",
                             call.initial_metadata(),
                             common.INITIAL_METADATA_KEY, INITIAL_VALUE)
        self.expect_metadata("FullDuplexCall trailing metadata",
                             call.trailing_metadata(),
                             common.TRAILING_METADATA_KEY, TRAILING_VALUE)

    def _status_echo(self, message: str, duplex: bool) -> None:
        status = messages.EchoStatus(code=2, message=message)
        self.expect_rpc_error(
            "UnaryCall with response_status",
            lambda: self.test.UnaryCall(
                messages.SimpleRequest(response_status=status),
                timeout=self.timeout),
            grpc.StatusCode.UNKNOWN, message)
        if duplex:
            req = messages.StreamingOutputCallRequest(response_status=status)
            self.expect_rpc_error(
                "FullDuplexCall with response_status",
                lambda: list(self.test.FullDuplexCall(
                    iter([req]), timeout=self.timeout)),
                grpc.StatusCode.UNKNOWN, message)

    def status_code_and_message(self):
        self._status_echo("test status message", duplex=True)

    def special_status_message(self):
        self._status_echo(SPECIAL_MESSAGE, duplex=False)

    def unimplemented_method(self):
        self.expect_rpc_error(
            "grpc.testing.TestService/UnimplementedCall",
            lambda: self.test.UnimplementedCall(empty.Empty(),
                                                timeout=self.timeout),
            grpc.StatusCode.UNIMPLEMENTED)

    def unimplemented_service(self):
        self.expect_rpc_error(
            "grpc.testing.UnimplementedService/UnimplementedCall",
            lambda: self.unimplemented.UnimplementedCall(
                empty.Empty(), timeout=self.timeout),
            grpc.StatusCode.UNIMPLEMENTED)


CASES = (
    "empty_unary",
    "large_unary",
    "client_streaming",
    "server_streaming",
    "ping_pong",
    "empty_stream",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_compressed_streaming",
    "server_compressed_streaming",
)


def main(argv=None) -> int:
    global pb, messages, empty
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server_host", default="localhost")
    ap.add_argument("--server_port", type=int, required=True)
    ap.add_argument("--test_case", required=True, choices=CASES)
    ap.add_argument("--use_tls", nargs="?", const="true", default="false",
                    help="connect over TLS (true|false, default false)")
    ap.add_argument("--use_test_ca", nargs="?", const="true",
                    default="false",
                    help="with --use_tls: trust --ca_file instead of the "
                         "system's roots (true|false, default false)")
    ap.add_argument("--ca_file", default=None,
                    help="PEM root certificates for --use_test_ca")
    ap.add_argument("--server_host_override", default=None,
                    help="name the server's certificate must carry (TLS) "
                         "and :authority to send instead of host:port")
    ap.add_argument("--rpc_timeout", type=float, default=30.0,
                    help="deadline of each RPC in seconds (default 30), "
                         "except where the case sets its own")
    ap.add_argument("--inject_fault", default="",
                    help="comma-separated deliberate bugs, for testing the "
                         "server: " + ", ".join(sorted(FAULTS)))
    args = ap.parse_args(argv)

    try:
        use_tls = common.parse_bool_flag(args.use_tls)
        use_test_ca = common.parse_bool_flag(args.use_test_ca)
    except ValueError as e:
        ap.error(str(e))
    credentials = None
    if use_tls:
        root_certificates = None  # C-core's default: the system's roots
        if use_test_ca:
            if not args.ca_file:
                ap.error("--use_test_ca needs --ca_file (this client has no "
                         "built-in test CA)")
            try:
                with open(args.ca_file, "rb") as f:
                    root_certificates = f.read()
            except OSError as e:
                print(f"interop_client: {e}", file=sys.stderr)
                return 2
        credentials = grpc.ssl_channel_credentials(root_certificates)
    faults = {f for f in args.inject_fault.split(",") if f}
    if faults - FAULTS.keys():
        ap.error(f"unknown fault(s) {sorted(faults - FAULTS.keys())}; "
                 f"known: {sorted(FAULTS)}")

    pb = common.load_protos()
    messages, empty = pb.messages_pb2, pb.empty_pb2

    host = args.server_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    options = list(common.RAW_COMPRESSION_OPTIONS)
    if args.server_host_override:
        options.append(("grpc.default_authority", args.server_host_override))
        if credentials is not None:
            options.append(("grpc.ssl_target_name_override",
                            args.server_host_override))
    case = args.test_case
    target = f"{host}:{args.server_port}"
    if credentials is None:
        channel = grpc.insecure_channel(target, options=options)
    else:
        channel = grpc.secure_channel(target, credentials, options=options)
    with channel:
        client = Client(channel, args.rpc_timeout, faults)
        try:
            getattr(client, case)()
        except Failure as f:
            print(f"FAIL {case}: {f}", flush=True)
            return 1
        except grpc.RpcError as err:
            code = err.code() if hasattr(err, "code") else None
            details = err.details() if hasattr(err, "details") else None
            print(f"FAIL {case}: RPC failed unexpectedly: status "
                  f"{code.name if code else '?'} ({code.value[0] if code else '?'}), "
                  f"details {_short(details)}", flush=True)
            return 1
        except Exception:  # pylint: disable=broad-except
            print(f"FAIL {case}: client error:\n{traceback.format_exc()}",
                  flush=True)
            return 1
    print(f"PASS {case}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

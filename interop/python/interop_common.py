"""Shared code of the Python side of the gRPC interop matrix.

Used by interop_server.py and interop_client.py (see README.md beside this
file). It provides:

* `load_protos()`: compiles interop/proto/grpc/testing/*.proto with the pinned
  grpcio-tools (`python -m grpc_tools.protoc`) into a fresh temporary
  directory, never into the repository, and imports the generated
  `grpc.testing.{empty,messages,test}_pb2` and `test_pb2_grpc` modules.
* A message codec that sees the gRPC per-message compressed flag. Channels
  and servers here set the C-core channel argument
  `grpc.per_message_decompression` to 0; C-core then hands a message that
  arrived with the compressed flag set to the application still compressed,
  and a message without the flag as it was sent. `decode()` inflates the
  former itself and reports which it was, so both the server
  (expect_compressed) and the client (response_compressed) check the real
  flag of each message instead of trusting a header.
* `no_compress()`: marks one request message of a client stream to be sent
  without compression on a call that otherwise compresses (see
  `per_message_client_compression()` for how, and why it needs grpcio
  internals).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import importlib
import subprocess
import sys
import tempfile
import types
import zlib
from pathlib import Path
from typing import Any, Callable, Optional

import grpc

HERE = Path(__file__).resolve().parent
PROTO_ROOT = HERE.parent / "proto"
PROTO_FILES = (
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
)

INITIAL_METADATA_KEY = "x-grpc-test-echo-initial"
TRAILING_METADATA_KEY = "x-grpc-test-echo-trailing-bin"

# Server and channel option: C-core leaves compressed messages compressed.
RAW_COMPRESSION_OPTIONS = (("grpc.per_message_decompression", 0),)

# The generated modules, filled by load_protos().
empty_pb2: Any = None
messages_pb2: Any = None
test_pb2: Any = None
test_pb2_grpc: Any = None


def load_protos() -> types.SimpleNamespace:
    """Generates and imports the grpc.testing modules (once per process).

    The generated files live in a temporary directory, removed as soon as
    they are imported. Their
    Python package is `grpc.testing` (from the .proto paths), which would
    land inside grpcio's own `grpc` package; so a package module
    `grpc.testing` whose __path__ is the generated directory is registered
    (or, if grpcio-testing's real `grpc.testing` is installed, the generated
    directory is added to its __path__). The generated code is imported
    unmodified.
    """
    if test_pb2 is not None:
        return _namespace()
    # Imported modules no longer need their files, so the directory goes
    # right away: a process killed later leaves nothing behind.
    with tempfile.TemporaryDirectory(prefix="rust-rpc-interop-py-") as gen:
        _generate_and_import(Path(gen))
    return _namespace()


def _generate_and_import(gen_dir: Path) -> None:
    global empty_pb2, messages_pb2, test_pb2, test_pb2_grpc

    cmd = [
        sys.executable, "-m", "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"--python_out={gen_dir}",
        f"--grpc_python_out={gen_dir}",
        *PROTO_FILES,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=PROTO_ROOT)
    if r.returncode != 0:
        raise RuntimeError(
            "python -m grpc_tools.protoc failed "
            f"(exit {r.returncode}):\n{r.stdout}{r.stderr}")

    pkg_dir = str(gen_dir / "grpc" / "testing")
    existing = sys.modules.get("grpc.testing")
    if existing is None:
        try:
            existing = importlib.import_module("grpc.testing")
        except ImportError:
            existing = None
    if existing is not None and hasattr(existing, "__path__"):
        existing.__path__.append(pkg_dir)
    else:
        pkg = types.ModuleType("grpc.testing")
        pkg.__path__ = [pkg_dir]
        pkg.__package__ = "grpc.testing"
        sys.modules["grpc.testing"] = pkg
        grpc.testing = pkg  # type: ignore[attr-defined]

    empty_pb2 = importlib.import_module("grpc.testing.empty_pb2")
    messages_pb2 = importlib.import_module("grpc.testing.messages_pb2")
    test_pb2 = importlib.import_module("grpc.testing.test_pb2")
    test_pb2_grpc = importlib.import_module("grpc.testing.test_pb2_grpc")


def _namespace() -> types.SimpleNamespace:
    return types.SimpleNamespace(
        empty_pb2=empty_pb2, messages_pb2=messages_pb2, test_pb2=test_pb2,
        test_pb2_grpc=test_pb2_grpc)


# --------------------------------------------------------------------------
# Codec that sees the per-message compressed flag


@dataclasses.dataclass
class Received:
    """A decoded message and how it travelled."""

    msg: Any
    # "gzip" or "deflate" when the message arrived with the compressed flag
    # set, None when it arrived uncompressed.
    compression: Optional[str]
    # Length of the message as framed on the wire (compressed length if
    # compressed).
    wire_len: int
    # Length of the serialized message (after decompression).
    size: int

    @property
    def compressed(self) -> bool:
        return self.compression is not None


def inflate(raw: bytes) -> tuple[bytes, Optional[str]]:
    """Returns (message bytes, algorithm) for what C-core handed over.

    With `grpc.per_message_decompression` 0, C-core passes a message whose
    compressed flag was set as the compressed bytes, and any other message as
    is. Which algorithm compressed it is not passed on (C-core consumes the
    grpc-encoding header), so it is told from the data: gRPC's "gzip" is
    RFC 1952 (magic 1f 8b) and its "deflate" is zlib, RFC 1950 (CMF/FLG
    header whose 16-bit value is a multiple of 31, and an Adler-32 trailer
    that zlib checks). A serialized protobuf message never starts with 0x1f
    (field 3, wire type 7 does not exist), and one that looks like a zlib
    header and also inflates with a matching Adler-32 does not occur in
    practice; none of the interop messages uses field 15, the tag a 0x78
    first byte would be.
    """
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw), "gzip"
    if (len(raw) >= 6 and (raw[0] & 0x0F) == 8 and (raw[0] >> 4) <= 7
            and ((raw[0] << 8) | raw[1]) % 31 == 0 and not raw[1] & 0x20):
        try:
            return zlib.decompress(raw), "deflate"
        except zlib.error:
            pass
    return raw, None


def decoder(message_class) -> Callable[[bytes], Received]:
    """A request/response deserializer returning `Received`."""

    def decode(raw: bytes) -> Received:
        data, algorithm = inflate(raw)
        return Received(message_class.FromString(data), algorithm, len(raw),
                        len(data))

    return decode


class NoCompressBytes(bytes):
    """Serialized message to be sent without compression (see below)."""


class NoCompress:
    """Wraps a request message of a client stream: send this one without
    compression even though the call compresses its messages."""

    def __init__(self, msg):
        self.msg = msg


def serialize_request(msg) -> bytes:
    """Request serializer that understands `NoCompress` wrappers."""
    if isinstance(msg, NoCompress):
        return NoCompressBytes(msg.msg.SerializeToString())
    return msg.SerializeToString()


class _CygrpcWithPerMessageFlags(types.ModuleType):
    """Stands in for `cygrpc` inside grpc._channel: every attribute is the
    real one except SendMessageOperation, which adds the C-core write flag
    GRPC_WRITE_NO_COMPRESS for a `NoCompressBytes` message."""

    def __init__(self, real):
        super().__init__("cygrpc")
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def SendMessageOperation(self, message, flags):  # noqa: N802
        real = self._real
        if isinstance(message, NoCompressBytes):
            return real.SendMessageOperation(
                bytes(message), flags | int(real.WriteFlag.no_compress))
        return real.SendMessageOperation(message, flags)


@contextlib.contextmanager
def per_message_client_compression():
    """Lets a client stream send some messages uncompressed on a compressed
    call (the `NoCompress` wrapper).

    grpcio's client API has no per-message write flags: its request-stream
    consumer (grpc/_channel.py) always sends with flags 0, and call-level
    `compression=` compresses every message. C-core itself supports the
    GRPC_WRITE_NO_COMPRESS write flag (the server side's
    `disable_next_message_compression()` uses it). So for the duration of the
    block, grpc._channel's reference to the cygrpc module is replaced by a
    proxy that sets that flag for messages marked by `NoCompress`. This
    relies on grpcio internals of the pinned version; if they are not as
    expected, it raises instead of silently compressing everything.
    """
    from grpc import _channel  # pylint: disable=import-outside-toplevel

    real = getattr(_channel, "cygrpc", None)
    if (real is None or not hasattr(real, "SendMessageOperation")
            or not hasattr(getattr(real, "WriteFlag", None), "no_compress")):
        raise RuntimeError(
            "grpcio internals changed: grpc._channel.cygrpc.SendMessageOperation"
            " / WriteFlag.no_compress not found; cannot send a single "
            "message uncompressed")
    _channel.cygrpc = _CygrpcWithPerMessageFlags(real)
    try:
        yield
    finally:
        _channel.cygrpc = real


def zeros(n: int) -> bytes:
    return b"\x00" * n


def status_code_from_int(code: int) -> Optional[grpc.StatusCode]:
    for status in grpc.StatusCode:
        if status.value[0] == code:
            return status
    return None


def parse_bool_flag(value: Optional[str]) -> bool:
    """`--flag`, `--flag=true`, `--flag=false` (interop flag style)."""
    if value is None:
        return True
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


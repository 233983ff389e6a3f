#!/usr/bin/env python3
"""Wire compatibility between rust-rpc's generated types and Python's `protobuf`.

Driven by runtime/tests/python_wire.rs, which calls this script twice on one
scratch directory TMP:

    wire_compat.py --phase write  TMP
    wire_compat.py --phase verify TMP

Files in TMP (`<name>` is a curated sample, `<case>` a testdata/ directory):

    py/<case>/*_pb2.py        this script: generated from testdata/<case>/*.proto
    rust/<name>.bin           Rust: its encoding of a curated sample
    python/<name>.bin         Python (write): its encoding of a curated sample
    rust_back/<name>.bin      Rust: python/<name>.bin decoded and re-encoded
    sweep/<case>/<Full.Name>@<variant>.bin
                              Python (write): every message of every case,
                              filled generically in several variants
    sweep_back/<case>/<same>.bin|.err
                              Rust: the sweep file decoded and re-encoded, or
                              the decode error

Write phase: generate the `_pb2` modules; check that Python parses every
`rust/<name>.bin` into exactly the message Python builds for `<name>`; write
Python's own encodings. Verify phase: check that what Rust re-encoded parses
back to the message Python wrote and is the same bytes up to field order and
map entry order (both implementation-defined).

Variants in the sweep, each written only where it applies:
  full<k>           every field set to a non-default value, the k-th member of
                    each oneof (and other values per k)
  zeros             fields with presence set to zero values, zero-valued map
                    entries and repeated elements
  empty             nothing set
  open_enum         undeclared numbers in open enum fields
  nan               NaNs (one with a payload) in float and double fields
  big               long strings and bytes at every level, 3000-element packed
                    runs: length prefixes of 3 bytes
  unknown           full0 plus undeclared fields of every wire type, at the top
                    and in nested messages
  closed_enum_unknown  undeclared numbers in closed enum fields (kept as
                    unknown fields)
  wrong_wire_type   known field numbers with the wrong wire type (unknown)
  Inputs a serializer would not write but a parser must read:
  concat, doubled   two encodings back to back (merge semantics)
  flipped_packing   packed runs expanded and expanded elements packed
  reordered         fields in reverse order, map entries value-first
  map_edges         entries without value, without key and value
  empty_packed      zero-length packed runs
  overlong_varints  varints padded to 10 bytes, bools written as 2
  depth<n>.<field>  self-recursion n levels deep (the limit is 100)
  Inputs to reject (the name starts with `!`; Rust must reject them too):
  !missing_required.<field>, !bad_utf8.<field>, !truncated, and any of the
  above that Python rejects or reads with required fields missing.
  Reported, not judged: ?bad_utf8.<field>, invalid UTF-8 in a string field
  that the schema does not validate (proto2, editions utf8_validation NONE).

Each case runs in its own interpreter, since two cases may declare the same
message names and Python's default descriptor pool is process-wide.

Exit status: 0 all good, 1 failures, 3 the Python environment is not set up.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import struct
import subprocess
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TESTDATA = REPO / "testdata"
REQUIREMENTS = HERE / "requirements.txt"
INSTALL = "python3 -m pip install -r interop/python/requirements.txt"
EXIT_ENV = 3
MAX_DEPTH = 3
MAX_REPORT_LINES = 40


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------


def pinned() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip()] = version.strip()
    return pins


def check_environment() -> None:
    from importlib import metadata

    problems = []
    for name, want in pinned().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name} is not installed (pinned: {want})")
            continue
        if have != want:
            problems.append(f"{name} {have} is installed, but {want} is pinned")
    for module in ("google.protobuf", "grpc_tools.protoc"):
        try:
            importlib.import_module(module)
        except ImportError as e:
            problems.append(f"cannot import {module}: {e}")
    if problems:
        print("wire_compat: the Python side is not set up:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        print(f"install it with:\n  {INSTALL}", file=sys.stderr)
        sys.exit(EXIT_ENV)


def cases() -> list[str]:
    return sorted(p.name for p in TESTDATA.iterdir() if p.is_dir() and any(p.glob("*.proto")))


def generate(case: str, out: Path) -> str | None:
    """Runs grpc_tools' protoc with --python_out; returns an error or None."""
    import importlib.resources

    out.mkdir(parents=True, exist_ok=True)
    case_dir = TESTDATA / case
    protos = sorted(p.name for p in case_dir.glob("*.proto"))
    wkt = importlib.resources.files("grpc_tools") / "_proto"
    cmd = [
        sys.executable, "-m", "grpc_tools.protoc",
        f"-I{case_dir}", f"-I{wkt}", f"--python_out={out}",
        f"--descriptor_set_out={out / 'descriptors.pb'}", "--include_imports", *protos,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return f"protoc --python_out failed for testdata/{case}:\n{r.stderr}"
    return None


# --------------------------------------------------------------------------
# Wire-level helpers
# --------------------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    return varint((field << 3) | wire_type)


def read_varint(b: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if not c & 0x80:
            return result, i
        shift += 7
        if shift >= 70:
            raise ValueError("varint longer than 10 bytes")


def records(b: bytes) -> list[tuple[int, int, bytes, bytes, bytes]]:
    """Splits an encoding into (field, wire type, head, payload, tail):
    head is the tag (and the length prefix of a LEN field), tail the end tag
    of a group; head + payload + tail is the record byte for byte."""
    out = []
    i = 0
    while i < len(b):
        start = i
        k, i = read_varint(b, i)
        field, wt = k >> 3, k & 7
        if wt == 0:
            s = i
            _, i = read_varint(b, i)
            out.append((field, wt, b[start:s], b[s:i], b""))
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            if i + n > len(b):
                raise ValueError("truncated fixed-width value")
            out.append((field, wt, b[start:i], b[i:i + n], b""))
            i += n
        elif wt == 2:
            n, j = read_varint(b, i)
            if j + n > len(b):
                raise ValueError("truncated length-delimited value")
            out.append((field, wt, b[start:j], b[j:j + n], b""))
            i = j + n
        elif wt == 3:
            s = i
            end, after = skip_group(b, i, field)
            out.append((field, wt, b[start:s], b[s:end], b[end:after]))
            i = after
        else:
            raise ValueError(f"unexpected wire type {wt} at byte {start}")
    return out


def skip_group(b: bytes, i: int, field: int) -> tuple[int, int]:
    """Returns (start of the end tag, end of the end tag) of the group opened
    for `field` just before `i`."""
    while True:
        if i >= len(b):
            raise ValueError("unterminated group")
        at = i
        k, i = read_varint(b, i)
        f, wt = k >> 3, k & 7
        if wt == 4:
            if f != field:
                raise ValueError("mismatched end group")
            return at, i
        if wt == 0:
            _, i = read_varint(b, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = read_varint(b, i)
            i += n
        elif wt == 3:
            _, i = skip_group(b, i, f)
        else:
            raise ValueError(f"bad wire type {wt}")


def is_map(fd) -> bool:
    return fd.message_type is not None and fd.message_type.GetOptions().map_entry


def canonical(b: bytes, desc, sort_fields: bool = True) -> bytes:
    """The encoding with map entries sorted and (with `sort_fields`) records
    stably sorted by field number, recursively through known message fields;
    every record's own bytes (tags, varints, length prefixes) are kept as they
    are. Two encodings with equal canonical forms differ at most in field
    order and map entry order, which the protobuf spec leaves to the
    implementation."""
    recs = []
    for field, wt, head, payload, tail in records(b):
        fd = desc.fields_by_number.get(field) if desc is not None else None
        if fd is not None and fd.message_type is not None:
            group = fd.type == fd.TYPE_GROUP
            if (group and wt == 3) or (not group and wt == 2):
                payload = canonical(payload, fd.message_type, sort_fields)
        recs.append((field, fd is not None and is_map(fd), head + payload + tail))
    if sort_fields:
        recs.sort(key=lambda r: r[0])
    # Sort the entries of each run of one map field in place.
    out, i = [], 0
    while i < len(recs):
        j = i + 1
        while j < len(recs) and recs[j][0] == recs[i][0]:
            j += 1
        run = [r[2] for r in recs[i:j]]
        out += sorted(run) if recs[i][1] else run
        i = j
    return b"".join(out)


def describe_records(b: bytes, limit: int = 24) -> list[str]:
    try:
        recs = records(b)
    except ValueError as e:
        return [f"    (not parseable: {e}) {b[:64].hex()}"]
    lines = []
    for field, wt, head, payload, tail in recs[:limit]:
        body = payload.hex()
        if len(body) > 64:
            body = body[:64] + f"...({len(payload)} bytes)"
        lines.append(f"    field {field} wt {wt}: {head.hex()} | {body}")
    if len(recs) > limit:
        lines.append(f"    ... {len(recs) - limit} more records")
    return lines


# --------------------------------------------------------------------------
# Field-level diff
# --------------------------------------------------------------------------


def unknown_list(msg):
    from google.protobuf.unknown_fields import UnknownFieldSet

    def conv(data):
        if isinstance(data, (bytes, int)):
            return data
        return [(f.field_number, f.wire_type, conv(f.data)) for f in data]

    try:
        return [(f.field_number, f.wire_type, conv(f.data)) for f in UnknownFieldSet(msg)]
    except Exception as e:  # noqa: BLE001 - informative only
        return [f"<unknown fields unreadable: {e}>"]


def fmt(v) -> str:
    if hasattr(v, "DESCRIPTOR") and hasattr(v, "ListFields"):
        s = str(v).replace("\n", " ").strip()
        return "{" + (s[:150] + "..." if len(s) > 150 else s) + "}"
    s = repr(v)
    return s[:150] + "..." if len(s) > 150 else s


def diff(expected, actual, path: str, out: list[str]) -> None:
    """Appends `path: expected=... actual=...` lines for every difference."""
    if type(expected) is not type(actual):
        out.append(f"{path}: expected a {type(expected).__name__}, got {type(actual).__name__}")
        return
    desc = expected.DESCRIPTOR
    for fd in desc.fields:
        name = fd.name
        p = f"{path}.{name}"
        ev, av = getattr(expected, name), getattr(actual, name)
        if is_map(fd):
            vfd = fd.message_type.fields_by_number[2]
            for k in sorted(set(ev) | set(av), key=repr):
                if k not in av:
                    out.append(f"{p}[{k!r}]: missing (expected {fmt(ev[k])})")
                elif k not in ev:
                    out.append(f"{p}[{k!r}]: unexpected {fmt(av[k])}")
                elif vfd.message_type is not None:
                    diff(ev[k], av[k], f"{p}[{k!r}]", out)
                elif not same(ev[k], av[k]):
                    out.append(f"{p}[{k!r}]: expected {fmt(ev[k])}, got {fmt(av[k])}")
        elif fd.is_repeated:
            if len(ev) != len(av):
                out.append(f"{p}: expected {len(ev)} elements {fmt(list(ev))}, got {len(av)} {fmt(list(av))}")
            for i, (x, y) in enumerate(zip(ev, av)):
                if fd.message_type is not None:
                    diff(x, y, f"{p}[{i}]", out)
                elif not same(x, y):
                    out.append(f"{p}[{i}]: expected {fmt(x)}, got {fmt(y)}")
        else:
            eh = expected.HasField(name) if fd.has_presence else None
            ah = actual.HasField(name) if fd.has_presence else None
            if eh != ah:
                out.append(f"{p}: expected {'set' if eh else 'unset'}, got {'set' if ah else 'unset'}"
                           f" (expected {fmt(ev)}, got {fmt(av)})")
            elif fd.message_type is not None:
                if eh is not False:
                    diff(ev, av, p, out)
            elif not same(ev, av):
                out.append(f"{p}: expected {fmt(ev)}, got {fmt(av)}")
    if desc.is_extendable:
        ee = {fd.full_name: v for fd, v in expected.ListFields() if fd.is_extension}
        ae = {fd.full_name: v for fd, v in actual.ListFields() if fd.is_extension}
        for n in sorted(set(ee) | set(ae)):
            if n not in ae or n not in ee or ee[n] != ae[n]:
                out.append(f"{path}.({n}): expected {fmt(ee.get(n))}, got {fmt(ae.get(n))}")
    eu, au = unknown_list(expected), unknown_list(actual)
    if eu != au:
        out.append(f"{path}: unknown fields: expected {fmt(eu)}, got {fmt(au)}")


def same(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return struct.pack("<d", x) == struct.pack("<d", y) or (math.isnan(x) and math.isnan(y))
    return x == y


# --------------------------------------------------------------------------
# Comparison of one encoding with the message Python expects
# --------------------------------------------------------------------------


class Report:
    def __init__(self, case: str, phase: str):
        self.case, self.phase = case, phase
        self.checks = 0
        self.failures: list[str] = []
        self.notes: list[str] = []
        self.uncovered: set[str] = set()
        self.reordered: dict[str, list[str]] = {}

    def ok(self):
        self.checks += 1

    def fail(self, what: str, lines: list[str] | None = None):
        self.checks += 1
        text = f"FAIL {what}"
        if len(text) > 2000:
            text = text[:2000] + "..."
        if lines:
            shown = [l if len(l) <= 300 else l[:300] + "..." for l in lines[:MAX_REPORT_LINES]]
            if len(lines) > len(shown):
                shown.append(f"... {len(lines) - len(shown)} more lines")
            text += "\n" + "\n".join("    " + l for l in shown)
        self.failures.append(text)
        print(text, flush=True)

    def note(self, text: str):
        self.notes.append(text)

    def dump(self, path: Path):
        for what, variants in sorted(self.reordered.items()):
            self.note(f"{what}: same fields as Python's encoding, in another field order "
                      f"({', '.join(variants)})")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "case": self.case, "phase": self.phase, "checks": self.checks,
            "failures": len(self.failures), "notes": self.notes,
            "uncovered": sorted(self.uncovered),
        }))


def compare(report: Report, what: str, expected, data: bytes, expected_bytes: bytes) -> None:
    """Checks that `data` (written by Rust) parses to `expected` and encodes
    the same fields as `expected_bytes` (Python's encoding of it)."""
    cls = type(expected)
    try:
        parsed = cls.FromString(data)
    except Exception as e:  # noqa: BLE001 - any parse error is a finding
        report.fail(f"{what}: Python cannot parse Rust's bytes: {e}",
                    ["rust bytes:"] + describe_records(data))
        return
    problems = []
    if parsed != expected:
        # upb's == fails on NaN fields; the field-level diff compares NaNs
        # as equal, and the byte comparison below still sees every bit.
        diff(expected, parsed, cls.DESCRIPTOR.full_name, problems)
    try:
        same_fields = canonical(data, cls.DESCRIPTOR) == canonical(expected_bytes, cls.DESCRIPTOR)
    except ValueError as e:
        same_fields = False
        problems.append(f"cannot split Rust's bytes into records: {e}")
    if not same_fields and not problems:
        problems.append("equal values, but the encodings differ beyond field and map order")
    if not same_fields:
        problems += ["python bytes:"] + describe_records(expected_bytes)
        problems += ["rust bytes:"] + describe_records(data)
    if problems:
        report.fail(what, problems)
        return
    desc = cls.DESCRIPTOR
    if canonical(data, desc, sort_fields=False) != canonical(expected_bytes, desc, sort_fields=False):
        subject, _, variant = what.rpartition(" ")
        report.reordered.setdefault(subject, []).append(variant)
    report.ok()


# --------------------------------------------------------------------------
# Generic filling of any message (the sweep)
# --------------------------------------------------------------------------

def _tables():
    from google.protobuf.descriptor import FieldDescriptor as F

    i32 = [-1, 2147483647, -2147483648, 150, -300, 1]
    i64 = [-1, 2**63 - 1, -(2**63), 1 << 40, -(1 << 35), 1]
    u32 = [2**32 - 1, 1, 300, 1 << 31]
    u64 = [2**64 - 1, 1, 1 << 63, 300, 1 << 35]
    return {
        F.TYPE_INT32: i32, F.TYPE_SINT32: i32, F.TYPE_SFIXED32: i32,
        F.TYPE_INT64: i64, F.TYPE_SINT64: i64, F.TYPE_SFIXED64: i64,
        F.TYPE_UINT32: u32, F.TYPE_FIXED32: u32,
        F.TYPE_UINT64: u64, F.TYPE_FIXED64: u64,
        F.TYPE_FLOAT: [1.5, -2.25, 3.4028234663852886e38, 1.401298464324817e-45, float("inf"), -0.0],
        F.TYPE_DOUBLE: [-0.5, 1e300, 5e-324, float("-inf"), 2.718281828459045, -0.0],
        F.TYPE_BOOL: [True],
        F.TYPE_STRING: ["héllo wörld ✓ 𝄞", "x" * 200, "a\x00b", "plain"],
        F.TYPE_BYTES: [b"\x00\xff\x80 bin", bytes(range(256)), b"\x01"],
    }


def zero_value(fd):
    if fd.type == fd.TYPE_ENUM:
        return fd.enum_type.values[0].number
    return {fd.TYPE_BOOL: False, fd.TYPE_STRING: "", fd.TYPE_BYTES: b"",
            fd.TYPE_FLOAT: 0.0, fd.TYPE_DOUBLE: 0.0}.get(fd.type, 0)


def _FD():
    from google.protobuf.descriptor import FieldDescriptor

    return FieldDescriptor


def real_oneofs(desc):
    out = []
    for o in desc.oneofs:
        fields = list(o.fields)
        synthetic = (len(fields) == 1 and o.name.endswith("_" + fields[0].name)
                     and set(o.name[: -len(fields[0].name) - 1]) <= {"X"})
        if not synthetic:
            out.append(o)
    return out


class Filler:
    """Sets the fields of a message from `seed` and `mode` (full, zeros,
    open_enum), recursing into message fields up to MAX_DEPTH."""

    def __init__(self, seed: int, mode: str):
        self.seed, self.mode = seed, mode
        self.tables = _tables()
        if mode == "big":
            # Lengths that need 3-byte prefixes, at every level.
            F = _FD()
            self.tables[F.TYPE_STRING] = ["é" * 9000, "ü✓" * 3000]
            self.tables[F.TYPE_BYTES] = [bytes(range(256)) * 70]
        if mode == "nan":
            F = _FD()
            nan_payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]
            self.tables[F.TYPE_FLOAT] = [float("nan")]
            self.tables[F.TYPE_DOUBLE] = [float("nan"), nan_payload]
        self.open_enum_used = False
        self.nan_used = False
        self.max_depth = 2 if mode == "big" else MAX_DEPTH

    def fill(self, msg, depth: int = 0) -> None:
        desc = msg.DESCRIPTOR
        chosen = {}
        for o in real_oneofs(desc):
            members = list(o.fields)
            idx = 0 if self.mode == "zeros" else self.seed % len(members)
            chosen[o.full_name] = members[idx]
        for fd in desc.fields:
            o = fd.containing_oneof
            if o is not None and o.full_name in chosen and chosen[o.full_name] is not fd:
                continue
            self.set_field(msg, fd, depth)

    def value(self, fd, i: int):
        if self.mode == "zeros":
            return zero_value(fd)
        if self.mode == "nan" and fd.type in (fd.TYPE_FLOAT, fd.TYPE_DOUBLE):
            self.nan_used = True
        k = self.seed + fd.number + i
        if fd.type == fd.TYPE_ENUM:
            numbers = []
            for v in fd.enum_type.values:
                if v.number not in numbers:
                    numbers.append(v.number)
            if self.mode == "open_enum" and not fd.enum_type.is_closed:
                self.open_enum_used = True
                return [n for n in (1000003, -77, 99999, 123456789) if n not in numbers][k % 2]
            nonzero = [n for n in numbers if n != 0] or numbers
            return nonzero[k % len(nonzero)]
        table = self.tables[fd.type]
        return table[k % len(table)]

    def keys(self, kfd) -> list:
        if self.mode == "zeros":
            return [zero_value(kfd)]
        if kfd.type == kfd.TYPE_BOOL:
            return [True, False]
        table = self.tables[kfd.type]
        out = []
        for i in range(len(table)):
            v = table[(self.seed + i) % len(table)]
            if v not in out:
                out.append(v)
            if len(out) == 3:
                break
        return out

    def set_field(self, msg, fd, depth: int) -> None:
        name = fd.name
        deeper = depth + 1 < self.max_depth
        if is_map(fd):
            m = getattr(msg, name)
            vfd = fd.message_type.fields_by_number[2]
            for i, k in enumerate(self.keys(fd.message_type.fields_by_number[1])):
                if vfd.message_type is not None:
                    sub = m[k]
                    if deeper:
                        self.fill(sub, depth + 1)
                else:
                    m[k] = self.value(vfd, i + 1)
        elif fd.is_repeated:
            r = getattr(msg, name)
            if fd.message_type is not None:
                for _ in range(1 if self.mode == "zeros" else 2):
                    sub = r.add()
                    if deeper:
                        self.fill(sub, depth + 1)
            else:
                many = self.mode == "big" and depth == 0 and element_wire_type(fd) is not None
                count = 2 if self.mode == "zeros" else 3000 if many else 3
                r.extend(self.value(fd, i) for i in range(count))
        elif fd.message_type is not None:
            sub = getattr(msg, name)
            sub.SetInParent()
            if deeper:
                self.fill(sub, depth + 1)
        else:
            if self.mode == "zeros" and not fd.has_presence:
                return
            setattr(msg, name, self.value(fd, 0))


MAX_FIELD_NUMBER = (1 << 29) - 1


def free_number(desc, count: int = 5) -> int:
    """`count` consecutive field numbers `desc` does not declare: outside its
    extension ranges where there is room, else numbers in a range that no
    known extension takes (still unknown fields to every reader)."""
    used = set(desc.fields_by_number)
    used |= {x.number for x in desc.file.pool.FindAllExtensions(desc)}
    ranges = list(desc.extension_ranges)

    def first(avoid_ranges: bool) -> int | None:
        n = 9000
        while n + count <= MAX_FIELD_NUMBER:
            if not any(x in used or (avoid_ranges and any(a <= x < b for a, b in ranges))
                       for x in range(n, n + count)):
                return n
            n += 100 if n < 1_000_000 else 1 << 20
        return None

    n = first(True)
    if n is None:
        n = first(False)
    assert n is not None, f"no free field numbers in {desc.full_name}"
    return n


def unknown_trailer(desc) -> bytes:
    """Fields of every wire type with numbers `desc` does not declare."""
    n = free_number(desc)
    text = "unknown ✓".encode()
    return (key(n, 0) + varint(150)
            + key(n + 1, 1) + struct.pack("<d", -1.25)
            + key(n + 2, 2) + varint(len(text)) + text
            + key(n + 3, 5) + struct.pack("<I", 0xDEADBEEF)
            + key(n + 4, 3) + key(1, 0) + varint(7) + key(2, 2) + varint(1) + b"g" + key(n + 4, 4))


def add_unknowns(msg, depth: int = 0) -> None:
    """Adds unknown fields to `msg` and to the messages set inside it."""
    if depth < 2:
        for fd, value in msg.ListFields():
            if fd.is_extension or fd.message_type is None:
                continue
            if is_map(fd):
                if fd.message_type.fields_by_number[2].message_type is not None:
                    for k in value:
                        add_unknowns(value[k], depth + 1)
            elif fd.is_repeated:
                for sub in value:
                    add_unknowns(sub, depth + 1)
            else:
                add_unknowns(value, depth + 1)
    if msg.DESCRIPTOR.GetOptions().message_set_wire_format:
        # A MessageSet holds only items: any other field is malformed.
        return
    msg.MergeFromString(unknown_trailer(msg.DESCRIPTOR))


def element_wire_type(fd) -> int | None:
    """Wire type of one element of a packable repeated field, else None."""
    F = fd
    if fd.type in (F.TYPE_STRING, F.TYPE_BYTES, F.TYPE_MESSAGE, F.TYPE_GROUP):
        return None
    if fd.type in (F.TYPE_DOUBLE, F.TYPE_FIXED64, F.TYPE_SFIXED64):
        return 1
    if fd.type in (F.TYPE_FLOAT, F.TYPE_FIXED32, F.TYPE_SFIXED32):
        return 5
    return 0


def split_packed(payload: bytes, wt: int) -> list[bytes]:
    out, i = [], 0
    while i < len(payload):
        if wt == 0:
            s = i
            _, i = read_varint(payload, i)
            out.append(payload[s:i])
        else:
            n = 8 if wt == 1 else 4
            out.append(payload[i:i + n])
            i += n
    return out


def flip_packing(data: bytes, desc) -> bytes:
    """Top-level repeated scalars in the other encoding: packed runs become
    one record per element, and elements become one packed run (parsers
    must accept both, whatever the field declares)."""
    groups: dict[int, list] = {}
    order = []
    for rec in records(data):
        field = rec[0]
        if field not in groups:
            groups[field] = []
            order.append(field)
        groups[field].append(rec)
    out = bytearray()
    for field in order:
        recs = groups[field]
        fd = desc.fields_by_number.get(field)
        ewt = element_wire_type(fd) if fd is not None and fd.is_repeated and not is_map(fd) else None
        if ewt is None:
            out += b"".join(h + p + t for _, _, h, p, t in recs)
            continue
        elements = []
        for _, wt, _, payload, _ in recs:
            elements += split_packed(payload, ewt) if wt == 2 else [payload]
        if all(wt == 2 for _, wt, *_ in recs):
            out += b"".join(key(field, ewt) + e for e in elements)
        else:
            body = b"".join(elements)
            out += key(field, 2) + varint(len(body)) + body
    return bytes(out)


def reorder(data: bytes, desc) -> bytes:
    """Top-level fields in reverse order of first appearance (each field's own
    records kept in order), map entries with the value before the key."""
    groups: dict[int, list[bytes]] = {}
    order = []
    for field, wt, head, payload, tail in records(data):
        fd = desc.fields_by_number.get(field)
        if fd is not None and is_map(fd) and wt == 2:
            payload = b"".join(h + p + t for _, _, h, p, t in reversed(records(payload)))
            head = key(field, 2) + varint(len(payload))
        if field not in groups:
            groups[field] = []
            order.append(field)
        groups[field].append(head + payload + tail)
    return b"".join(b"".join(groups[f]) for f in reversed(order))


def map_edges(data: bytes, desc) -> bytes | None:
    """Appends to each top-level map an entry without a value for a key that
    is already there (it replaces the value with the default) and an entry
    with neither key nor value."""
    extra = bytearray()
    for field, wt, head, payload, tail in records(data):
        fd = desc.fields_by_number.get(field)
        if fd is None or not is_map(fd) or wt != 2:
            continue
        key_only = b"".join(h + p + t for f, _, h, p, t in records(payload) if f == 1)
        extra += key(field, 2) + varint(len(key_only)) + key_only
        extra += key(field, 2) + varint(0)
        # Not here: an entry with fields other than key and value. upb keeps
        # the whole entry as an unknown field of the message; Java, Go and
        # rust-rpc skip those fields and keep the entry. Python is no
        # oracle for it.
    return data + bytes(extra) if extra else None


def closed_enum_unknowns(desc) -> bytes:
    """Records with a number the enum does not declare, for every top-level
    closed enum field (singular, oneof, repeated, packed, map value); both
    sides must keep them as unknown fields."""
    out = bytearray()
    for fd in desc.fields:
        target = fd
        if is_map(fd):
            target = fd.message_type.fields_by_number[2]
        if target.type != target.TYPE_ENUM or not target.enum_type.is_closed:
            continue
        declared = {v.number for v in target.enum_type.values}
        u = next(n for n in (99, 1000, -99, 77777) if n not in declared)
        if is_map(fd):
            entry = key(2, 0) + varint(u)
            out += key(fd.number, 2) + varint(len(entry)) + entry
        elif fd.is_repeated:
            out += key(fd.number, 0) + varint(u)
            packed = varint(u) + varint(target.enum_type.values[0].number)
            out += key(fd.number, 2) + varint(len(packed)) + packed
        else:
            out += key(fd.number, 0) + varint(u)
    return bytes(out)


def wrong_wire_types(desc) -> bytes:
    """For every field, a record with its number and a wire type it cannot
    have: parsers keep such records as unknown fields."""
    out = bytearray()
    for fd in desc.fields:
        if fd.type == fd.TYPE_GROUP:
            out += key(fd.number, 0) + varint(1)
        elif fd.message_type is not None or fd.type in (fd.TYPE_STRING, fd.TYPE_BYTES):
            out += key(fd.number, 5) + struct.pack("<I", 7)
        else:
            wt = element_wire_type(fd)
            if wt == 0:
                out += key(fd.number, 5) + struct.pack("<I", 7)
            else:
                out += key(fd.number, 0) + varint(7)
    return bytes(out)


def empty_packed_runs(desc) -> bytes:
    """A zero-length packed run for every packable repeated field."""
    return b"".join(key(fd.number, 2) + varint(0) for fd in desc.fields
                    if fd.is_repeated and not is_map(fd) and element_wire_type(fd) is not None)


def overlong(data: bytes, desc) -> bytes:
    """Top-level varints padded to 10 bytes (parsers accept any varint up to
    10 bytes), and bools written as 2 (any non-zero varint is true)."""
    out = bytearray()
    for field, wt, head, payload, tail in records(data):
        if wt == 0:
            value, _ = read_varint(payload, 0)
            fd = desc.fields_by_number.get(field)
            if fd is not None and fd.type == fd.TYPE_BOOL and value == 1:
                value = 2
            minimal = varint(value)
            if len(minimal) < 10:
                payload = bytes(b | 0x80 for b in minimal) + b"\x80" * (9 - len(minimal)) + b"\x00"
        out += head + payload + tail
    return bytes(out)


def malformed(desc, data0: bytes):
    """Suspicious inputs after a valid message. They are yielded as ordinary
    variants: sweep_variants marks with `!` those that Python rejects, and
    what Python accepts Rust must read the same way."""
    n = free_number(desc)
    # Field number 0 is invalid (spec, C++, Go). upb rejects it too, except
    # in a message that declares no fields (scalars3.Empty): not an oracle.
    yield "!field_zero", data0 + key(0, 0) + varint(1)
    yield "wire_type_6", data0 + varint((n << 3) | 6) + varint(1)
    yield "wire_type_7", data0 + varint((n << 3) | 7) + varint(1)
    yield "varint_11_bytes", data0 + key(n, 0) + b"\xff" * 10 + b"\x01"
    yield "varint_10th_byte_overflow", data0 + key(n, 0) + b"\xff" * 9 + b"\x7f"
    yield "field_number_2_29", data0 + varint((1 << 29) << 3) + varint(1)
    if (1 << 29) - 1 not in desc.fields_by_number:
        yield "field_number_max", data0 + varint(((1 << 29) - 1) << 3) + varint(1)
    yield "group_end_mismatch", data0 + key(n, 3) + key(1, 0) + varint(1) + key(n + 1, 4)
    yield "group_end_alone", data0 + key(n, 4)
    yield "group_unterminated", data0 + key(n, 3) + key(1, 0) + varint(1)
    yield "length_past_end", data0 + key(n, 2) + varint(2**32 + 1) + b"x"
    yield "length_negative", data0 + key(n, 2) + varint(-1) + b"x"
    for fd in desc.fields:
        if fd.type == fd.TYPE_MESSAGE and not is_map(fd):
            yield f"message_as_group.{fd.name}", data0 + key(fd.number, 3) + key(fd.number, 4)
            break
    for fd in desc.fields:
        if fd.type == fd.TYPE_GROUP:
            yield f"group_as_message.{fd.name}", data0 + key(fd.number, 2) + varint(0)
            break
    for fd in desc.fields:
        wt = element_wire_type(fd) if fd.is_repeated and not is_map(fd) else None
        if wt == 0:
            yield f"packed_truncated_varint.{fd.name}", data0 + key(fd.number, 2) + varint(2) + b"\x01\x80"
            break
    for fd in desc.fields:
        wt = element_wire_type(fd) if fd.is_repeated and not is_map(fd) else None
        if wt in (1, 5):
            yield f"packed_partial_element.{fd.name}", data0 + key(fd.number, 2) + varint(3) + b"\x01\x02\x03"
            break


def self_fields(desc) -> list:
    """Singular fields whose type is the message itself (direct recursion)."""
    return [fd for fd in desc.fields
            if fd.message_type is desc and not fd.is_repeated and fd.type == fd.TYPE_MESSAGE]


def nested(field: int, depth: int) -> bytes:
    data = b""
    for _ in range(depth):
        data = key(field, 2) + varint(len(data)) + data
    return data


def sweep_variants(cls, report: Report):
    """Yields (variant name, bytes) for one message type; the name starts
    with `!` when Python rejects the bytes or finds required fields missing
    in what it read (upb's parser itself does not check them), so Rust must
    reject them."""
    from google.protobuf.message import DecodeError

    for name, data in raw_sweep_variants(cls, report):
        if name[0] not in "!?":
            try:
                valid = cls.FromString(data).IsInitialized()
            except DecodeError:
                valid = False
            if not valid:
                name = "!" + name
        yield name, data


def raw_sweep_variants(cls, report: Report):
    from google.protobuf.message import DecodeError

    desc = cls.DESCRIPTOR
    oneof_sizes = [len(o.fields) for o in real_oneofs(desc)]
    full0 = None
    for seed in range(max([1] + oneof_sizes)):
        m = cls()
        Filler(seed, "full").fill(m)
        if not m.IsInitialized():
            report.note(f"{desc.full_name}: full{seed} skipped (required fields out of reach)")
            continue
        if seed == 0:
            full0 = m
        yield f"full{seed}", m.SerializeToString(deterministic=True)
    m = cls()
    Filler(0, "zeros").fill(m)
    if m.IsInitialized():
        yield "zeros", m.SerializeToString(deterministic=True)
    m = cls()
    if m.IsInitialized():
        yield "empty", m.SerializeToString(deterministic=True)
    m = cls()
    f = Filler(0, "open_enum")
    f.fill(m)
    if f.open_enum_used and m.IsInitialized():
        yield "open_enum", m.SerializeToString(deterministic=True)
    m = cls()
    f = Filler(0, "nan")
    f.fill(m)
    if f.nan_used and m.IsInitialized():
        yield "nan", m.SerializeToString(deterministic=True)
    m = cls()
    Filler(0, "big").fill(m)
    if m.IsInitialized():
        data = m.SerializeToString(deterministic=True)
        if len(data) > 16384:
            yield "big", data
    if full0 is not None:
        data0 = full0.SerializeToString(deterministic=True)
        m = cls()
        m.CopyFrom(full0)
        add_unknowns(m)
        yield "unknown", m.SerializeToString(deterministic=True)
        # Inputs that are valid but not what a serializer writes: parsers
        # must read them all the same (the verify phase compares with
        # Python's reading of them).
        full1 = cls()
        Filler(1, "full").fill(full1)
        yield "concat", data0 + full1.SerializePartialToString(deterministic=True)
        flipped = flip_packing(data0, desc)
        if flipped != data0:
            yield "flipped_packing", flipped
        reordered = reorder(data0, desc)
        if reordered != data0:
            yield "reordered", reordered
        edges = map_edges(data0, desc)
        if edges is not None:
            yield "map_edges", edges
        yield "doubled", data0 + data0
        wrong = wrong_wire_types(desc)
        if wrong:
            yield "wrong_wire_type", data0 + wrong
        unknown_enums = closed_enum_unknowns(desc)
        if unknown_enums:
            yield "closed_enum_unknown", data0 + unknown_enums
        empties = empty_packed_runs(desc)
        if empties:
            yield "empty_packed", empties + data0
        yield from malformed(desc, data0)
        padded = overlong(data0, desc)
        if padded != data0:
            yield "overlong_varints", padded
        if len(data0) > 0:
            truncated = data0[:-1]
            try:
                cls.FromString(truncated)
            except DecodeError:
                yield "!truncated", truncated
        for fd in desc.fields:
            if fd.is_required:
                m = cls()
                m.CopyFrom(full0)
                m.ClearField(fd.name)
                data = m.SerializePartialToString(deterministic=True)
                # upb's parser does not check required fields (C++'s does);
                # Python still reports the parsed message as uninitialized.
                if cls.FromString(data).IsInitialized():
                    report.fail(f"{desc.full_name}: Python sees no missing required field "
                                f"after clearing {fd.name}")
                else:
                    yield f"!missing_required.{fd.name}", data
    for fd in self_fields(desc)[:1]:
        # Around the recursion limit (100 in upb, C++ and rust-rpc): what
        # Python refuses is marked `!` by sweep_variants.
        for depth in (99, 100, 101, 102):
            yield f"depth{depth}.{fd.name}", nested(fd.number, depth)
    prefix = full0.SerializeToString(deterministic=True) if full0 is not None else b""
    for fd in desc.fields:
        if fd.type != fd.TYPE_STRING or is_map(fd):
            continue
        # The message otherwise valid (required fields set), then a string
        # that is not UTF-8: the last value wins, or is one more element.
        data = prefix + key(fd.number, 2) + varint(2) + b"\xc3\x28"
        try:
            cls.FromString(data)
            yield f"?bad_utf8.{fd.name}", data
        except DecodeError:
            yield f"!bad_utf8.{fd.name}", data
        except Exception as e:  # noqa: BLE001 - e.g. required fields missing
            report.note(f"{desc.full_name}: bad_utf8.{fd.name} skipped ({type(e).__name__}: {e})")


def all_messages(modules) -> list:
    out = []

    def walk(d):
        if d.GetOptions().map_entry:
            return
        out.append(d)
        for n in d.nested_types:
            walk(n)

    for mod in modules:
        for d in mod.DESCRIPTOR.message_types_by_name.values():
            walk(d)
    return sorted(out, key=lambda d: d.full_name)


# --------------------------------------------------------------------------
# Curated samples: the same values are built in runtime/tests/python_wire.rs
# --------------------------------------------------------------------------

SAMPLES: dict[str, SimpleNamespace] = {}


def sample(case: str, kind: str = "both"):
    """Registers `<case>.<function name>`. kind: `both` (Rust builds the same
    message: checked both ways), `py_roundtrip` (Rust decodes Python's bytes,
    checks them and re-encodes), `py_invalid` (the builder returns bytes that
    both sides must reject)."""

    def register(fn):
        name = f"{case}.{fn.__name__}"
        SAMPLES[name] = SimpleNamespace(name=name, case=case, kind=kind, build=fn)
        return fn

    return register


# ---- smoke

@sample("smoke")
def person(pb):
    P = pb.smoke.Person
    return P(name="Ada", age=-1, ids=[1, -1, 1 << 40], friends={"bob": P(name="Bob", age=7)},
             blob=b"", parent=P(name="parent"), c=P.COLOR_RED, color=P.COLOR_RED,
             colors=[P.COLOR_RED, 5, P.COLOR_UNSPECIFIED], d=-0.5, s=-(2**63))


# ---- scalars3

def _nested(pb):
    N = pb.scalars3.Scalars.Nested
    return N(a=-1, inner=N.Inner(label="in", depth=N.DEPTH_DEEP))


@sample("scalars3")
def scalars_full(pb):
    S = pb.scalars3.Scalars
    return S(f_double=-2.5, f_float=3.25, f_int32=-123456, f_int64=-9_000_000_000,
             f_uint32=4_000_000_000, f_uint64=18_000_000_000_000_000_000,
             f_sint32=-(2**31), f_sint64=-(2**63), f_fixed32=2**32 - 1, f_fixed64=2**64 - 1,
             f_sfixed32=-7, f_sfixed64=-8, f_bool=True, f_string="héllo ✓ 𝄞",
             f_bytes=b"\x00\x01\xff\xfe", f_big_tag=16000, f_nested=_nested(pb),
             f_kind=S.KIND_VERY_NEGATIVE,
             f_inner=S.Nested.Inner(label="top", depth=S.Nested.DEPTH_SHALLOW),
             f_depth=S.Nested.DEPTH_DEEP, f_max_tag="max tag")


@sample("scalars3")
def scalars_open_enum_unknown(pb):
    S = pb.scalars3.Scalars
    return S(f_kind=1234567, f_depth=-5, f_inner=S.Nested.Inner(depth=42))


@sample("scalars3")
def optionals_zero(pb):
    m = pb.scalars3.Optionals(o_double=0.0, o_float=0.0, o_int32=0, o_int64=0, o_uint32=0,
                              o_uint64=0, o_sint32=0, o_sint64=0, o_fixed32=0, o_fixed64=0,
                              o_sfixed32=0, o_sfixed64=0, o_bool=False, o_string="",
                              o_bytes=b"", o_color=pb.scalars3.COLOR_UNSPECIFIED)
    m.o_nested.SetInParent()
    return m


@sample("scalars3")
def optionals_full(pb):
    s = pb.scalars3
    return s.Optionals(o_double=6.5, o_float=-0.25, o_int32=-1, o_int64=-2, o_uint32=3,
                       o_uint64=4, o_sint32=-5, o_sint64=-6, o_fixed32=7, o_fixed64=8,
                       o_sfixed32=-9, o_sfixed64=-10, o_bool=True, o_string="opt",
                       o_bytes=b"\x80", o_color=s.COLOR_INFRARED,
                       o_nested=s.Scalars.Nested(a=11))


def _repeated(pb, cls, with_len: bool):
    s = pb.scalars3
    m = cls(r_double=[1.5, -0.0, 1e300], r_float=[0.5, -3.0],
            r_int32=[0, -1, 2147483647, -(2**31)], r_int64=[-1, 2**62],
            r_uint32=[0, 2**32 - 1], r_uint64=[2**64 - 1, 0],
            r_sint32=[-1, 1, -(2**31)], r_sint64=[-(2**63), 2**63 - 1],
            r_fixed32=[1, 2], r_fixed64=[3, 2**64 - 1], r_sfixed32=[-1, -2],
            r_sfixed64=[-3, 4], r_bool=[True, False, True],
            r_color=[s.COLOR_BLUE, s.COLOR_INFRARED, s.COLOR_UNSPECIFIED, 42])
    if with_len:
        m.r_string.extend(["a", "", "ü"])
        m.r_bytes.extend([b"", b"\x00"])
        m.r_nested.add(a=1)
        m.r_nested.add()
    return m


@sample("scalars3")
def packed_full(pb):
    return _repeated(pb, pb.scalars3.Packed, True)


@sample("scalars3")
def unpacked_full(pb):
    return _repeated(pb, pb.scalars3.Unpacked, False)


@sample("scalars3", kind="py_roundtrip")
def scalars_as_empty(pb):
    """Rust decodes this as `Empty`: every field is unknown to it."""
    return scalars_full(pb)


# ---- maps

@sample("maps")
def keys_full(pb):
    return pb.maps.Keys(
        k_int32={-1: "neg", 0: "zero", 2147483647: "max"}, k_int64={-(2**63): "min", 1: "one"},
        k_uint32={2**32 - 1: "max"}, k_uint64={2**64 - 1: "max", 0: "zero"},
        k_sint32={-2: "m2", 2: "p2"}, k_sint64={-(2**63): "min"}, k_fixed32={7: "seven"},
        k_fixed64={2**64 - 1: "max"}, k_sfixed32={-7: "m7"}, k_sfixed64={-8: "m8"},
        k_bool={True: "t", False: "f"}, k_string={"": "empty key", "ключ": "значение"})


@sample("maps")
def values_full(pb):
    m = pb.maps
    return m.Values(
        v_double={"a": -1.5}, v_float={"b": 2.5}, v_int32={"c": -3}, v_int64={"d": -(2**40)},
        v_uint32={"e": 2**32 - 1}, v_uint64={"f": 2**64 - 1}, v_sint32={"g": -7},
        v_sint64={"h": -(2**63)}, v_fixed32={"i": 9}, v_fixed64={"j": 10},
        v_sfixed32={"k": -11}, v_sfixed64={"l": -12}, v_bool={"m": True, "n": False},
        v_string={"o": "", "p": "ü"}, v_bytes={"q": b"\x00\xff"},
        v_enum={"r": m.SUIT_SPADES, "s": m.SUIT_UNSPECIFIED, "u": 77},
        v_message={"v": m.Value(text="t", n=1), "w": m.Value()},
        by_id={-1: m.Value(n=-1)}, flags={True: b"yes", False: b""}, zig_suits={-5: m.SUIT_HEARTS})


@sample("maps")
def nested_maps(pb):
    E = pb.maps.Nested.Entry
    return pb.maps.Nested(entries={"root": E(tags=["a", "b"], children={"kid": E(tags=["c"])})})


# ---- oneofs

@sample("oneofs")
def two_a(pb):
    o = pb.oneofs
    return o.Two(id=1, f_message=o.Payload(text="p", count=-2, items=[1, 2], child=o.Payload(count=3)),
                 middle="mid", s_float=-1.5, trailing=-14)


@sample("oneofs")
def two_b(pb):
    o = pb.oneofs
    return o.Two(f_enum=o.LEVEL_HIGH, s_sint64=-(2**63))


@sample("oneofs")
def two_zero(pb):
    """Oneof members set to zero values are still set, so still encoded."""
    return pb.oneofs.Two(f_int32=0, s_bool=False)


@sample("oneofs")
def with_optional_zero(pb):
    return pb.oneofs.WithOptional(maybe=0, b=0, maybe_text="")


# ---- recursion

@sample("recursion")
def expr(pb):
    r = pb.recursion
    return r.Expr(binary=r.Binary(left=r.Expr(literal=-5),
                                  right=r.Expr(negate=r.Expr(literal=2**40)), op="+"))


@sample("recursion")
def tree(pb):
    T = pb.recursion.Tree
    return T(name="root", kids=[T(name="k1")], named={"n": T(name="n1", kids=[T()])})


# ---- proto2

@sample("proto2")
def plain_full(pb):
    p = pb.proto2
    return p.Plain(f_double=1e-300, f_float=-1.0, f_int32=-1, f_int64=-(2**63), f_uint32=2**32 - 1,
                   f_uint64=2**64 - 1, f_sint32=-2, f_sint64=-3, f_fixed32=4, f_fixed64=5,
                   f_sfixed32=-6, f_sfixed64=-7, f_bool=False, f_string="plain ü",
                   f_bytes=b"\x00", f_mode=p.MODE_BACKWARDS,
                   f_child=p.Plain(f_int32=0, f_string=""))


DEFAULTS = {
    "d_double": 3.25, "d_float": -1.5, "d_int32": -42, "d_int64": -9000000000,
    "d_uint32": 4000000000, "d_uint64": 18000000000000000000, "d_sint32": -(2**31),
    "d_sint64": -(2**63), "d_fixed32": 2**32 - 1, "d_fixed64": 2**64 - 1, "d_sfixed32": -7,
    "d_sfixed64": -8, "d_bool": True, "d_string": 'hi "there"\n\tC:\\path é',
    "d_bytes": b'\x00\x01\xff"\\', "d_mode": 5, "d_nan": float("nan"), "d_inf": float("inf"),
    "d_neg_inf": float("-inf"), "f_nan": float("nan"), "f_inf": float("inf"),
    "f_neg_inf": float("-inf"), "d_exp": 1e10, "f_small": struct.unpack("<f", struct.pack("<f", 1.5e-5))[0],
    "d_hex": 127, "d_min64": -(2**63), "d_min32": -(2**31), "d_false": False, "d_empty": "",
    "d_negative_mode": -3, "d_neg_zero": -0.0, "d_octal": 8,
}


@sample("proto2")
def defaults_unset(pb):
    """Nothing set: nothing on the wire; both sides check their accessors
    return the declared defaults (the Rust test asserts the same values)."""
    m = pb.proto2.Defaults()
    wrong = [f"{k}: {getattr(m, k)!r} != {v!r}" for k, v in DEFAULTS.items() if not same(getattr(m, k), v)]
    assert not wrong, "Python's defaults differ from the expected ones: " + "; ".join(wrong)
    return m


@sample("proto2")
def defaults_explicit(pb):
    """Every field set to its declared default (NaNs left out): explicit
    presence means every one of them is encoded."""
    m = pb.proto2.Defaults()
    for k, v in DEFAULTS.items():
        if not (isinstance(v, float) and math.isnan(v)):
            setattr(m, k, v)
    return m


@sample("proto2")
def groups(pb):
    W = pb.proto2.WithGroups
    m = W(before=1, after=9)
    m.single.a = 2
    m.single.b = "b"
    first = m.multi.add(c=3)
    first.deeper.add(d=-4)
    first.deeper.add()
    m.multi.add()
    return m


@sample("proto2")
def lists(pb):
    p = pb.proto2
    return p.Lists(ints=[1, -1], packed_ints=[2, -2], modes=[p.MODE_ON, p.MODE_BACKWARDS],
                   packed_modes=[p.MODE_AUTO, p.MODE_OFF], names=["x", ""],
                   doubles=[0.5, -0.5], zigzags=[-1, 2**62])


@sample("proto2")
def needs_full(pb):
    p = pb.proto2
    return p.Needs(id=0, name="", extra=p.Plain(), inner=p.Needs.Inner(flag=False),
                   inners=[p.Needs.Inner(flag=True)])


@sample("proto2")
def wrapper(pb):
    p = pb.proto2
    return p.Wrapper(needs=p.Needs(id=1, name="n"), many=[p.Needs(id=2, name="m")],
                     by_name={"k": p.Needs(id=3, name="k", inner=p.Needs.Inner(flag=True))},
                     other="o")


@sample("proto2", kind="py_invalid")
def needs_missing_required(pb):
    return pb.proto2.Needs, pb.proto2.Needs(id=1).SerializePartialToString()


@sample("proto2", kind="py_invalid")
def wrapper_missing_nested_required(pb):
    p = pb.proto2
    m = p.Wrapper(needs=p.Needs(id=1, name="x"))
    m.needs.inner.SetInParent()
    return p.Wrapper, m.SerializePartialToString()


@sample("proto2")
def closed_full(pb):
    p = pb.proto2
    return p.Closed(single=p.MODE_AUTO, list=[p.MODE_ON, p.MODE_BACKWARDS],
                    packed_list=[p.MODE_OFF, p.MODE_AUTO], by_id={1: p.MODE_ON, -1: p.MODE_BACKWARDS},
                    chosen=p.MODE_BACKWARDS, must=p.MODE_OFF)


def closed_unknown_bytes() -> bytes:
    """Closed enum fields holding 99, which `Mode` does not declare."""
    entry_unknown = key(1, 0) + varint(7) + key(2, 0) + varint(99)
    entry_known = key(1, 0) + varint(8) + key(2, 0) + varint(5)
    packed = varint(0) + varint(99) + varint(-3)
    return (key(7, 0) + varint(1)
            + key(1, 0) + varint(99)
            + key(2, 0) + varint(1) + key(2, 0) + varint(99) + key(2, 0) + varint(5)
            + key(3, 2) + varint(len(packed)) + packed
            + key(4, 2) + varint(len(entry_unknown)) + entry_unknown
            + key(4, 2) + varint(len(entry_known)) + entry_known
            + key(5, 0) + varint(99))


@sample("proto2", kind="py_roundtrip")
def closed_unknown(pb):
    """Unknown values of closed enums go to unknown fields, on both sides."""
    return pb.proto2.Closed.FromString(closed_unknown_bytes())


@sample("proto2", kind="py_roundtrip")
def extensions(pb):
    """Extensions: Rust reads them typed, and re-encodes them byte for byte."""
    p = pb.proto2
    m = p.Extendable(known=1, also_known="also")
    m.Extensions[p.ext_int] = -5
    m.Extensions[p.ext_string] = "ext ✓"
    m.Extensions[p.ext_modes].extend([p.MODE_ON, p.MODE_AUTO])
    m.Extensions[p.Scoped.scoped_ext].value = 7
    return m


@sample("proto2", kind="py_roundtrip")
def nested_unknown(pb):
    """Unknown fields of every wire type, at the top and in a nested message."""
    p = pb.proto2
    m = p.Plain(f_int32=1, f_child=p.Plain(f_string="child"))
    m.f_child.MergeFromString(unknown_trailer(p.Plain.DESCRIPTOR))
    m.MergeFromString(unknown_trailer(p.Plain.DESCRIPTOR))
    return m


# ---- editions

@sample("editions")
def presence(pb):
    e = pb.editions
    return e.Presence(explicit_int=0, implicit_int=5, required_int=0, explicit_str="",
                      implicit_str="s", closed_enum=e.SHUT_ZERO, open_enum=e.AJAR_ZERO,
                      implicit_open_enum=e.AJAR_ONE, implicit_bytes=b"b", child=e.Child(value=0))


@sample("editions")
def presence_open_unknown(pb):
    e = pb.editions
    return e.Presence(required_int=-1, open_enum=9, implicit_open_enum=-9)


@sample("editions")
def repeats(pb):
    e = pb.editions
    return e.Repeats(packed=[1, -1], expanded=[2, -2], closed_packed=[e.SHUT_ONE, e.SHUT_ZERO],
                     open_expanded=[e.AJAR_ONE, 5], fixed_expanded=[2**64 - 1, 0])


@sample("editions")
def delimited(pb):
    e = pb.editions
    return e.Delimited(child=e.Child(value=1, note="n"), children=[e.Child(value=2), e.Child()],
                       length_prefixed=e.Child(note="lp"), delimited_member=e.Child(value=-4))


@sample("editions")
def delimited_number(pb):
    return pb.editions.Delimited(number=0)


@sample("editions")
def strings(pb):
    return pb.editions.Strings(unchecked="ü", checked="✓", unchecked_list=["a", ""],
                               unchecked_map={"k": "v"})


@sample("editions")
def file_level_defaults(pb):
    f = pb.file_level
    return f.Defaults(a=-1, b="b", c=0, leaf=f.Leaf(value=1), prefixed=f.Leaf(value=2),
                      values=[1, 2**32 - 1], packed_values=[3, 0], leaves=[f.Leaf(value=4), f.Leaf()],
                      mapped={-1: f.Leaf(value=5)}, flag=f.FLAG_SET, must=0,
                      inner=f.Defaults.Inner(list=[1, -2], leaf=f.Leaf(value=6)))


# ---- wkt_use

@sample("wkt_use")
def event(pb):
    from google.protobuf import (any_pb2, duration_pb2, struct_pb2, timestamp_pb2, wrappers_pb2)

    ts = timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=123_456_789)
    detail = any_pb2.Any()
    detail.Pack(duration_pb2.Duration(seconds=-1, nanos=-500))
    m = pb.wkt_use.Event(
        at=ts, took=duration_pb2.Duration(seconds=90, nanos=1),
        detail=detail,
        value=struct_pb2.Value(string_value="v"),
        list=struct_pb2.ListValue(values=[struct_pb2.Value(number_value=1.5),
                                          struct_pb2.Value(bool_value=False)]),
        null_value=struct_pb2.NULL_VALUE,
        w_double=wrappers_pb2.DoubleValue(value=0.0), w_float=wrappers_pb2.FloatValue(value=-1.0),
        w_int64=wrappers_pb2.Int64Value(value=-(2**63)), w_uint64=wrappers_pb2.UInt64Value(value=2**64 - 1),
        w_int32=wrappers_pb2.Int32Value(value=-1), w_uint32=wrappers_pb2.UInt32Value(value=2**32 - 1),
        w_bool=wrappers_pb2.BoolValue(value=True), w_string=wrappers_pb2.StringValue(value="s"),
        w_bytes=wrappers_pb2.BytesValue(value=b"\x00"),
        history=[timestamp_pb2.Timestamp(seconds=-62135596800), timestamp_pb2.Timestamp()],
        relative=duration_pb2.Duration(seconds=5))
    m.attributes.fields["n"].null_value = struct_pb2.NULL_VALUE
    m.attributes.fields["s"].struct_value.fields["deep"].number_value = -2.0
    m.nothing.SetInParent()
    m.mask.paths.extend(["a.b", "c"])
    m.extras["x"].list_value.values.add().string_value = "y"
    return m


# ---- naming

@sample("naming")
def keywords(pb):
    m = pb.naming.Keywords()
    for number, name in enumerate(["type", "self", "super", "crate", "async", "fn", "match",
                                   "unknown_fields", "clone", "encode", "decode"], start=1):
        setattr(m, name, number)
    setattr(m, "default", "12")
    setattr(m, "Self", 13)
    return m


@sample("naming")
def case_clash(pb):
    return pb.case_clash.CaseClash(foo_bar=1, fooBar=2, FooBar=3, foo_bar_=4)


# ---- multi_package

@sample("multi_package")
def user(pb):
    a, ab, abc = pb.a, pb.a_b, pb.a_b_c
    return pb.z_other.User(
        base=a.Base(id=1, kind=a.KIND_PRIMARY),
        derived=ab.Derived(part=a.Base.Part(name="p"), kind=a.KIND_PRIMARY, bases=[a.Base(id=2)],
                           parts={"q": a.Base.Part(name="q")},
                           leaf=ab.Leaf(tip=abc.Tip(root=a.Base(id=3), depth=4)),
                           picked_kind=a.KIND_UNSPECIFIED))


# ---- options (bytes as bytes::Bytes, BTreeMap)

@sample("options")
def blob(pb):
    o = pb.options
    return o.Blob(data=b"\x00data", maybe=b"", chunks=[b"a", b"", b"\xff"],
                  named={"n": b"v", "": b""}, ordered={-1: "m", 2: "two", 0: ""},
                  raw=b"raw", key=o.Key(name="k", id=-1))


@sample("options")
def with_default(pb):
    return pb.proto2_bytes.WithDefault(must=b"", list=[b"x", b""])


# --------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------


class Unloadable(Exception):
    """A sample needs a `_pb2` module that Python could not load."""


class Modules(SimpleNamespace):
    def __getattr__(self, name):
        raise Unloadable(f"{name}_pb2 is not loaded")


def load_with_unique_json_names(gen: Path, proto: str) -> SimpleNamespace:
    """Adds `proto` to the default pool from protoc's descriptor set with each
    field's json_name made unique, and returns a stand-in for its `_pb2`
    module. upb refuses a file whose fields share a JSON name (protoc only
    warns for proto2); the binary format never uses JSON names."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fds = descriptor_pb2.FileDescriptorSet.FromString((gen / "descriptors.pb").read_bytes())
    (fp,) = [f for f in fds.file if f.name == proto]

    def unique(messages):
        for m in messages:
            for fd in m.field:
                fd.json_name = f"{fd.name}_{fd.number}"
            unique(m.nested_type)

    unique(fp.message_type)
    pool = descriptor_pool.Default()
    pool.Add(fp)
    fdesc = pool.FindFileByName(proto)
    module = SimpleNamespace(DESCRIPTOR=fdesc)
    for name, d in fdesc.message_types_by_name.items():
        setattr(module, name, message_factory.GetMessageClass(d))
    for e in fdesc.enum_types_by_name.values():
        for v in e.values:
            setattr(module, v.name, v.number)
    return module


def load_case(tmp: Path, case: str, report: Report, phase: str):
    """Imports every `_pb2` module of the case. A file that Python's
    descriptor pool refuses is loaded with unique JSON names if that is the
    reason, else reported and left out."""
    gen = tmp / "py" / case
    sys.path.insert(0, str(gen))
    modules = {}
    for f in sorted(gen.glob("*_pb2.py")):
        stem = f.stem[: -len("_pb2")]
        try:
            modules[stem] = importlib.import_module(f.stem)
            continue
        except Exception as e:  # noqa: BLE001 - e.g. a file upb's pool rejects
            error = f"{type(e).__name__}: {e}"
        if "json_name" in error:
            try:
                modules[stem] = load_with_unique_json_names(gen, f"{stem}.proto")
                if phase == "write":
                    report.note(f"testdata/{case}: {stem}.proto loaded with unique JSON names "
                                f"(the generated module fails: {error})")
                continue
            except Exception as e2:  # noqa: BLE001
                error += f"; with unique JSON names: {type(e2).__name__}: {e2}"
        if phase == "write":
            report.note(f"testdata/{case}: Python cannot load {stem}.proto, "
                        f"its messages are not checked: {error}")
            with (tmp / "sweep" / f"{case}.unloadable").open("a") as out:
                out.write(f"{stem}.proto\n")
    return Modules(**modules), list(modules.values())


def run_worker(tmp: Path, case: str, phase: str) -> int:
    from google.protobuf import message_factory

    report = Report(case, phase)
    pb, modules = load_case(tmp, case, report, phase)

    for s in (s for s in SAMPLES.values() if s.case == case):
        try:
            built = s.build(pb)
        except Unloadable as e:
            if phase == "write":
                report.note(f"sample {s.name} skipped: {e}")
                (tmp / "python" / f"{s.name}.skip").write_text(str(e))
            continue
        except Exception:  # noqa: BLE001 - a broken sample is a failure, not a crash
            report.fail(f"sample {s.name}: building it in Python failed",
                        traceback.format_exc().splitlines())
            continue
        if s.kind == "py_invalid":
            cls, data = built
            if phase == "write":
                try:
                    rejected = not cls.FromString(data).IsInitialized()
                except Exception:  # noqa: BLE001
                    rejected = True
                if rejected:
                    report.ok()
                else:
                    report.fail(f"sample {s.name}: Python accepts these bytes, expected a rejection")
                (tmp / "python" / f"{s.name}.bin").write_bytes(data)
            continue
        py_bytes = built.SerializeToString(deterministic=True)
        if phase == "write":
            if s.kind == "both":
                rust_file = tmp / "rust" / f"{s.name}.bin"
                if not rust_file.exists():
                    report.fail(f"sample {s.name}: Rust wrote no {rust_file.name} "
                                "(add it to runtime/tests/python_wire.rs)")
                else:
                    compare(report, f"sample {s.name}: Rust -> Python", built, rust_file.read_bytes(), py_bytes)
            (tmp / "python" / f"{s.name}.bin").write_bytes(py_bytes)
        else:
            back = tmp / "rust_back" / f"{s.name}.bin"
            if not back.exists():
                report.fail(f"sample {s.name}: Rust wrote no rust_back/{back.name} "
                            "(add it to runtime/tests/python_wire.rs)")
            else:
                compare(report, f"sample {s.name}: Python -> Rust -> Python", built, back.read_bytes(), py_bytes)

    sweep_dir = tmp / "sweep" / case
    back_dir = tmp / "sweep_back" / case
    if phase == "write":
        sweep_dir.mkdir(parents=True, exist_ok=True)
        for desc in all_messages(modules):
            cls = message_factory.GetMessageClass(desc)
            try:
                for variant, data in sweep_variants(cls, report):
                    (sweep_dir / f"{desc.full_name}@{variant}.bin").write_bytes(data)
            except Exception:  # noqa: BLE001
                report.fail(f"sweep {desc.full_name}: filling it in Python failed",
                            traceback.format_exc().splitlines())
    else:
        pool_find = modules[0].DESCRIPTOR.pool.FindMessageTypeByName if modules else None
        for f in sorted(sweep_dir.glob("*.bin")):
            full_name, _, variant = f.stem.partition("@")
            cls = message_factory.GetMessageClass(pool_find(full_name))
            back, err = back_dir / f.name, back_dir / (f.stem + ".err")
            what = f"sweep {full_name} {variant}"
            if variant.startswith("!"):
                if err.exists():
                    report.ok()
                elif back.exists():
                    report.fail(f"{what}: Rust accepts bytes that Python rejects",
                                ["bytes:"] + describe_records(f.read_bytes()))
                else:
                    report.uncovered.add(full_name)
                continue
            if variant.startswith("?"):
                if err.exists() or back.exists():
                    outcome = ("rejects them: " + err.read_text().strip()) if err.exists() else "accepts them"
                    report.note(f"{what}: invalid UTF-8 that Python does not validate; Rust {outcome}")
                continue
            if err.exists():
                report.fail(f"{what}: Rust cannot decode Python's bytes: {err.read_text().strip()}",
                            ["bytes:"] + describe_records(f.read_bytes()))
            elif back.exists():
                expected = cls.FromString(f.read_bytes())
                compare(report, what, expected, back.read_bytes(), expected.SerializeToString(deterministic=True))
            else:
                report.uncovered.add(full_name)

    report.dump(tmp / "report" / f"{phase}-{case}.json")
    return 1 if report.failures else 0


def run(tmp: Path, phase: str) -> int:
    check_environment()
    from google.protobuf import __version__ as pb_version
    from google.protobuf.internal import api_implementation

    all_cases = cases()
    if phase == "write":
        for sub in ("python", "sweep", "report"):
            (tmp / sub).mkdir(parents=True, exist_ok=True)
        print(f"wire_compat: protobuf {pb_version} ({api_implementation.Type()} backend), "
              f"cases: {', '.join(all_cases)}", flush=True)
    errors = 0
    for case in all_cases:
        if phase == "write":
            problem = generate(case, tmp / "py" / case)
            if problem:
                print(f"FAIL {problem}", flush=True)
                errors += 1
                continue
        r = subprocess.run([sys.executable, __file__, "--phase", phase, "--worker", case, str(tmp)])
        if r.returncode not in (0, 1):
            print(f"FAIL case {case}: the worker crashed (exit {r.returncode})", flush=True)
            errors += 1
    missing = set()
    if phase == "write":
        rust_names = {p.stem for p in (tmp / "rust").glob("*.bin")}
        missing = rust_names - set(SAMPLES)
        for name in sorted(missing):
            print(f"FAIL sample {name}: Rust wrote it but wire_compat.py has no such sample", flush=True)
    checks = failures = 0
    for case in all_cases:
        rp = tmp / "report" / f"{phase}-{case}.json"
        if not rp.exists():
            continue
        r = json.loads(rp.read_text())
        checks += r["checks"]
        failures += r["failures"]
        for n in r["notes"]:
            print(f"note: {n}")
        if r["uncovered"]:
            print(f"note: testdata/{case}: no Rust decoder registered for "
                  f"{len(r['uncovered'])} message(s): {', '.join(r['uncovered'])}")
    failures += errors + len(missing)
    print(f"wire_compat {phase}: {checks} checks, {failures} failed", flush=True)
    return 1 if failures else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=("write", "verify"), required=True)
    ap.add_argument("--worker", metavar="CASE", help=argparse.SUPPRESS)
    ap.add_argument("tmp", type=Path)
    args = ap.parse_args()
    if args.worker:
        return run_worker(args.tmp, args.worker, args.phase)
    return run(args.tmp, args.phase)


if __name__ == "__main__":
    sys.exit(main())

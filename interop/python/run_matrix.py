#!/usr/bin/env python3
"""Runs the gRPC interop cases between a server and a client, one process per
case, and prints a pass/fail table.

  Our Python client against a server command:
    run_matrix.py --server-cmd "target/debug/interop-server --port {port}"
  A client command against our Python server:
    run_matrix.py --client-cmd "target/debug/interop-client \\
        --server_host {host} --server_port {port} --test_case {case}"
  Check that the Python side catches a misbehaving peer:
    run_matrix.py --self-test
  Any of these over TLS, with certificates made by `test-certs --out DIR`:
    run_matrix.py --tls DIR --server-cmd "target/debug/interop-server \\
        --port {port} --use_tls true --tls_cert_file {cert} \\
        --tls_key_file {key}"

--server-cmd: picks a free port, starts the command with {port} replaced,
waits until the port accepts TCP connections, then runs interop_client.py
for every case. --client-cmd: starts interop_server.py on a free port and
runs the command for every case with {host}, {port} and {case} replaced.
Commands are split like a shell would (shlex), not run by a shell; the
server is started in its own process group, and that group is terminated at
the end whatever happens (SIGTERM, then SIGKILL after 5 s). Each case has a
time limit (--case-timeout); a client still running then is killed and the
case fails. Exit status: 0 all selected cases passed, 1 some failed, 2 the
setup failed (bad arguments, server did not start).

--tls DIR: our Python server serves TLS with DIR/server.pem and
DIR/server.key, and our Python client trusts only DIR/ca.pem and expects
the name foo.test.google.fr (--server_host_override, as in the public
interop tests; test-certs puts it in server.pem). In the commands, {ca},
{cert} and {key} become DIR/ca.pem, DIR/server.pem and DIR/server.key.
Readiness is still a TCP connect.

--self-test runs Python against Python: first clean, where every case must
pass, then once for each deliberate bug of interop_server.py and
interop_client.py (--inject_fault), where exactly the cases that bug breaks
must fail and all others pass. With --tls, all of that runs over TLS, and
two more runs show that the client checks the server's certificate: one
trusting DIR/other-ca.pem instead of DIR/ca.pem, one expecting a name the
certificate does not have. In both, the cases in TLS_REJECT_CASES must fail
with UNAVAILABLE.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
PY_SERVER = HERE / "interop_server.py"
PY_CLIENT = HERE / "interop_client.py"

# Same order as interop_client.CASES (not imported: that would need grpcio
# in the driver, which only starts processes).
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

_PAYLOAD_CASES = {
    "large_unary", "server_streaming", "ping_pong",
    "cancel_after_first_response", "custom_metadata",
    "client_compressed_unary", "server_compressed_unary",
    "server_compressed_streaming",
}

# --self-test: (side, fault) -> cases that must fail with it.
SELF_TEST = {
    ("server", "no_echo_initial"): {"custom_metadata"},
    ("server", "no_echo_trailing"): {"custom_metadata"},
    ("server", "ignore_response_status"): {
        "status_code_and_message", "special_status_message"},
    ("server", "mangle_status_message"): {"special_status_message"},
    ("server", "short_payload"): _PAYLOAD_CASES,
    ("server", "nonzero_payload"): _PAYLOAD_CASES,
    ("server", "extra_response"): {
        "server_streaming", "ping_pong", "custom_metadata",
        "server_compressed_streaming"},
    ("server", "never_compress"): {
        "server_compressed_unary", "server_compressed_streaming"},
    ("server", "always_compress"): {
        "server_compressed_unary", "server_compressed_streaming"},
    ("server", "ignore_expect_compressed"): {
        "client_compressed_unary", "client_compressed_streaming"},
    ("server", "wrong_aggregate"): {
        "client_streaming", "client_compressed_streaming"},
    ("server", "implement_unimplemented"): {"unimplemented_method"},
    ("client", "no_request_compression"): {
        "client_compressed_unary", "client_compressed_streaming"},
    ("client", "compress_probes"): {
        "client_compressed_unary", "client_compressed_streaming"},
    ("client", "compress_uncompressed"): {
        "client_compressed_unary", "client_compressed_streaming"},
    ("server", "streams_ignore_echo"): {
        "custom_metadata", "status_code_and_message"},
}


# --self-test --tls: cases run with a client that must refuse the server's
# certificate. Not every case: cancel_after_begin and
# timeout_on_sleeping_server end with the status they expect (CANCELLED,
# DEADLINE_EXCEEDED) whether or not the handshake succeeds.
TLS_REJECT_CASES = ("empty_unary", "large_unary", "ping_pong")

# The name our Python client expects in the server's certificate with --tls
# (the public interop tests' --server_host_override).
TLS_SERVER_NAME = "foo.test.google.fr"


class SetupError(Exception):
    pass


class Tls:
    """The files of a directory written by `test-certs --out DIR`."""

    def __init__(self, directory: str):
        d = Path(directory).resolve()
        self.ca, self.other_ca = d / "ca.pem", d / "other-ca.pem"
        self.cert, self.key = d / "server.pem", d / "server.key"
        missing = [p.name for p in (self.ca, self.cert, self.key)
                   if not p.is_file()]
        if missing:
            raise SetupError(f"--tls {directory}: no {', '.join(missing)} "
                             "there (make them with test-certs --out DIR)")

    def placeholders(self) -> dict[str, str]:
        return {"ca": str(self.ca), "cert": str(self.cert),
                "key": str(self.key)}

    def server_args(self) -> list[str]:
        return ["--use_tls", "true", "--tls_cert_file", str(self.cert),
                "--tls_key_file", str(self.key)]

    def client_args(self, ca: Optional[Path] = None,
                    name: str = TLS_SERVER_NAME) -> list[str]:
        return ["--use_tls", "true", "--use_test_ca", "true",
                "--ca_file", str(ca or self.ca),
                "--server_host_override", name]


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fill(template: str, **values) -> list[str]:
    """Splits a command template and replaces {name} placeholders."""
    out = []
    for word in shlex.split(template):
        for name, value in values.items():
            word = word.replace("{" + name + "}", str(value))
        out.append(word)
    return out


def kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Terminates the process group `proc` leads (we started it with
    start_new_session, so its pgid is its pid)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Children of the leader (cargo run -> binary) may outlive it.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


class Server:
    """A server process, its log, and its group's cleanup."""

    def __init__(self, argv: list[str], host: str, port: int,
                 startup_timeout: float):
        self.argv = argv
        self.log = tempfile.NamedTemporaryFile(
            prefix="interop-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.host, self.port = host, port
        try:
            self._wait_ready(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SetupError(
                    f"server exited with status {self.proc.returncode} "
                    f"before accepting connections:\n{self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port),
                                              timeout=1):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SetupError(
                    f"server did not accept connections on "
                    f"{self.host}:{self.port} within {timeout:g} s:\n"
                    f"{self.log_text()}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self, tail: int = 60) -> str:
        self.log.flush()
        try:
            lines = Path(self.log.name).read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        if len(lines) > tail:
            lines = [f"... ({len(lines) - tail} lines before)"] + lines[-tail:]
        return "\n".join("    " + line for line in lines) or "    (empty)"

    def stop(self) -> None:
        kill_group(self.proc)
        if self.log.closed:
            return
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass


def run_client(argv: list[str], timeout: float) -> tuple[bool, str, float]:
    """Runs one client process; (passed, output, seconds)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        passed = proc.returncode == 0
        text = out.decode(errors="replace").rstrip()
        if not passed:
            text += f"\n(exit status {proc.returncode})"
    except subprocess.TimeoutExpired:
        kill_group(proc, grace=2)
        out = proc.stdout.read() if proc.stdout else b""
        text = (out.decode(errors="replace").rstrip()
                + f"\n(killed: no result within {timeout:g} s)")
        passed = False
    finally:
        if proc.poll() is None:
            kill_group(proc, grace=2)
    return passed, text.strip(), time.monotonic() - start


def run_matrix(*, server_argv_for_port, client_argv_for, cases, host,
               case_timeout, startup_timeout, quiet=False,
               label="") -> dict[str, tuple[bool, str, float]]:
    """Starts the server, runs each case's client, stops the server."""
    port = free_port(host)
    server = Server(server_argv_for_port(port), host, port, startup_timeout)
    results: dict[str, tuple[bool, str, float]] = {}
    try:
        if not quiet:
            print(f"server: {shlex.join(server.argv)}", flush=True)
        for case in cases:
            if not server.alive():
                results[case] = (False, "server is no longer running "
                                 f"(exit status {server.proc.returncode})",
                                 0.0)
            else:
                results[case] = run_client(client_argv_for(port, case),
                                           case_timeout)
            passed, text, secs = results[case]
            if not quiet:
                print(f"  {'PASS' if passed else 'FAIL'} {case} "
                      f"({secs:.2f} s)", flush=True)
                if not passed:
                    print("    " + text.replace("\n", "\n    "), flush=True)
        if not quiet and (not all(r[0] for r in results.values())
                          or not server.alive()):
            print(f"server log{label}:\n{server.log_text()}", flush=True)
    finally:
        server.stop()
    return results


def print_table(results, title: str) -> None:
    width = max(len(c) for c in results) if results else 10
    print(f"\n{title}")
    print(f"{'case'.ljust(width)}  result  time")
    print(f"{'-' * width}  ------  ------")
    for case, (passed, text, secs) in results.items():
        first = ""
        if not passed and text:
            first = "  " + text.splitlines()[0][:100]
        print(f"{case.ljust(width)}  {'PASS' if passed else 'FAIL'}    "
              f"{secs:5.2f}s{first}")
    n_pass = sum(1 for r in results.values() if r[0])
    print(f"{n_pass} passed, {len(results) - n_pass} failed", flush=True)


def python_server(extra: list[str]):
    return lambda port: [sys.executable, str(PY_SERVER), "--port", str(port),
                         *extra]


def python_client(host: str, extra: list[str]):
    return lambda port, case: [
        sys.executable, str(PY_CLIENT), "--server_host", host,
        "--server_port", str(port), "--test_case", case, *extra]


def self_test(args, cases, tls: Optional[Tls]) -> int:
    # (name, server args, client args, cases, cases that must fail, and a
    # text each of their failures must contain, if any)
    server_tls = tls.server_args() if tls else []
    client_tls = tls.client_args() if tls else []
    runs = [("clean", server_tls, client_tls, cases, set(), None)]
    for side, fault in sorted(SELF_TEST):
        inject = ["--inject_fault", fault]
        runs.append((
            f"{side} --inject_fault {fault}",
            server_tls + (inject if side == "server" else []),
            client_tls + (inject if side == "client" else []),
            cases, SELF_TEST[(side, fault)] & set(cases), None))
    reject = [c for c in TLS_REJECT_CASES if c in cases]
    if tls and reject:
        if not tls.other_ca.is_file():
            raise SetupError(f"--self-test --tls: no {tls.other_ca}")
        runs.append(("client trusts other-ca.pem instead of ca.pem",
                     server_tls, tls.client_args(ca=tls.other_ca), reject,
                     set(reject), "UNAVAILABLE"))
        runs.append(("client expects a name not in server.pem",
                     server_tls, tls.client_args(name="wrong.example"),
                     reject, set(reject), "UNAVAILABLE"))

    rows = []
    for name, server_extra, client_extra, run_cases, expected, text in runs:
        results = run_matrix(
            server_argv_for_port=python_server(server_extra),
            client_argv_for=python_client(args.host, client_extra),
            cases=run_cases, host=args.host, case_timeout=args.case_timeout,
            startup_timeout=args.startup_timeout, quiet=True)
        failed = {c for c, r in results.items() if not r[0]}
        wrong_reason = {c for c in failed
                        if text is not None and text not in results[c][1]}
        ok = failed == expected and not wrong_reason
        rows.append(ok)
        print(f"{'ok  ' if ok else 'BAD '} {name}: failed "
              f"{sorted(failed) or 'none'}"
              + ("" if failed == expected
                 else f"; expected {sorted(expected) or 'none'}")
              + ("" if not wrong_reason
                 else f"; without {text}: {sorted(wrong_reason)}"),
              flush=True)
        if expected and args.verbose:
            for c in sorted(failed):
                print("       " + c + ": "
                      + results[c][1].splitlines()[0][:160], flush=True)
        if not ok:
            for c in sorted((failed ^ expected) | wrong_reason):
                print(f"     {c}:\n       "
                      + results[c][1].replace("\n", "\n       "), flush=True)
    n_ok = sum(rows)
    print(f"\nself-test: {n_ok} passed, {len(rows) - n_ok} failed", flush=True)
    return 0 if n_ok == len(rows) else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--server-cmd",
                      help="server command, with {port}; our Python client "
                           "runs the cases against it")
    mode.add_argument("--client-cmd",
                      help="client command, with {host} {port} {case}; run "
                           "against our Python server")
    mode.add_argument("--self-test", action="store_true",
                      help="Python vs Python, clean and with each "
                           "deliberate bug")
    ap.add_argument("--cases", default=",".join(CASES),
                    help="comma-separated cases (default: all 18)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address the client connects to (default "
                         "127.0.0.1)")
    ap.add_argument("--case-timeout", type=float, default=60.0,
                    help="seconds one case may take (default 60)")
    ap.add_argument("--startup-timeout", type=float, default=60.0,
                    help="seconds the server may take to accept "
                         "connections (default 60)")
    ap.add_argument("--peer-args", default="",
                    help="extra arguments for our Python peer (server in "
                         "--client-cmd mode, client in --server-cmd mode)")
    ap.add_argument("--tls", metavar="CERT_DIR", default=None,
                    help="run over TLS with the certificates test-certs "
                         "wrote into CERT_DIR; {ca} {cert} {key} in the "
                         "commands name its files")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        ap.error(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")
    peer_extra = shlex.split(args.peer_args)
    template = args.server_cmd or args.client_cmd or ""
    if args.tls is None:
        needs_tls = [k for k in ("{ca}", "{cert}", "{key}") if k in template]
        if needs_tls:
            ap.error(f"{' '.join(needs_tls)} in the command needs --tls")

    try:
        tls = Tls(args.tls) if args.tls is not None else None
        files = tls.placeholders() if tls else {}
        over = " over TLS" if tls else ""
        if args.self_test:
            return self_test(args, cases, tls)
        if args.server_cmd:
            for key in ("{port}",):
                if key not in args.server_cmd:
                    ap.error(f"--server-cmd needs {key}")
            results = run_matrix(
                server_argv_for_port=lambda port: fill(
                    args.server_cmd, port=port, **files),
                client_argv_for=python_client(
                    args.host, (tls.client_args() if tls else []) + peer_extra),
                cases=cases, host=args.host, case_timeout=args.case_timeout,
                startup_timeout=args.startup_timeout)
            title = f"Python grpcio client -> server command{over}"
        else:
            for key in ("{port}", "{case}"):
                if key not in args.client_cmd:
                    ap.error(f"--client-cmd needs {key}")
            results = run_matrix(
                server_argv_for_port=python_server(
                    (tls.server_args() if tls else []) + peer_extra),
                client_argv_for=lambda port, case: fill(
                    args.client_cmd, host=args.host, port=port, case=case,
                    **files),
                cases=cases, host=args.host, case_timeout=args.case_timeout,
                startup_timeout=args.startup_timeout)
            title = f"client command -> Python grpcio server{over}"
    except SetupError as e:
        print(f"run_matrix: {e}", file=sys.stderr)
        return 2
    print_table(results, title)
    return 0 if all(r[0] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# RPC benchmark: rust-rpc against tonic 0.14 on the RPC workloads of
# shared/bench/WORKLOADS.md, side by side in the same run.
#
# For each workload row and each round, each stack gets a fresh server on a
# free port and one load run (rpc-bench load), then its server is stopped; the
# order of the two stacks alternates from row to row and round to round, so
# drift on a shared machine hits both alike. Prints a markdown table of the
# medians over the rounds with rust-rpc/tonic ratios, and the ratio of
# rust-rpc's rate to tonic's reference figure in WORKLOADS.md. "CPU us/op" is
# the CPU time (user + system) of server and load generator together per op:
# less sensitive to other load on the machine than the rates.
#
#   bench/run-rpc.sh                 # defaults: 5 s runs, 1 s warm-up, 3 rounds
#   DURATION=2 ROUNDS=1 ROWS="unary-c1 ping-pong-c64" bench/run-rpc.sh
#
# Knobs (environment): DURATION, WARMUP, ROUNDS, REQ_SIZE, RESP_SIZE,
# STREAM_LEN, ROWS (names below), OUT (directory for the raw JSON lines and
# server logs, default target/rpc-bench), NO_BUILD=1 to skip the build, BIN
# (another rpc-bench binary, e.g. one built from an older commit), TLS=1.
#
# Over TLS: TLS=1 makes, once per run, a CA and a server certificate for
# `localhost` and 127.0.0.1 (ECDSA P-256) in a temporary directory that is
# removed at exit, with Debian's `openssl` (or, without it, the workspace's
# target/debug/test-certs, if built). Every server then gets
# --tls-cert/--tls-key, every load run --tls-ca and --tls-domain localhost
# and an https://127.0.0.1 address: both stacks over TLS 1.3 with rustls'
# ring provider, the same certificates for both. With BASE_BIN, both
# binaries must have these flags.
#
#   TLS=1 bench/run-rpc.sh
#
# Before and after a change, in one run: BASE_BIN=path/to/old/rpc-bench puts
# rust-rpc from that binary ("base") against rust-rpc from BIN ("new")
# instead of rust-rpc against tonic, with the same alternation:
#
#   cp target/release/rpc-bench /tmp/rpc-bench-base    # built on main
#   ...change, build...
#   BASE_BIN=/tmp/rpc-bench-base bench/run-rpc.sh
#
# What watching calls costs: the same binary with and without --observe
# ("new" observes):
#
#   BASE_BIN=target/release/rpc-bench OBSERVE=spans,metrics,channelz bench/run-rpc.sh
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
ROUNDS=${ROUNDS:-3}
REQ_SIZE=${REQ_SIZE:-16}
RESP_SIZE=${RESP_SIZE:-16}
STREAM_LEN=${STREAM_LEN:-100}
OUT=${OUT:-target/rpc-bench}
BIN=${BIN:-target/release/rpc-bench}
BASE_BIN=${BASE_BIN:-}
TLS=${TLS:-0}
if [[ "$TLS" != 0 && "$TLS" != 1 ]]; then
  echo "run-rpc: TLS is 1 (over TLS) or 0 (plaintext, the default), not $TLS" >&2
  exit 2
fi
# OBSERVE=spans,metrics,channelz (with BASE_BIN, which may be the same
# binary): the "new" side's server and load run with --observe $OBSERVE,
# to measure what watching calls costs.
OBSERVE=${OBSERVE:-}
if [[ -n "$OBSERVE" && -z "$BASE_BIN" ]]; then
  echo "run-rpc: OBSERVE compares with BASE_BIN (e.g. BASE_BIN=$BIN)" >&2
  exit 2
fi
# --observe for side $1.
observe_flags() {
  if [[ -n "$OBSERVE" && "$1" == new ]]; then echo "--observe $OBSERVE"; fi
}
# The two sides compared: label, binary, --stack.
if [[ -n "$BASE_BIN" ]]; then
  SIDES=("new $BIN rust-rpc" "base $BASE_BIN rust-rpc")
else
  SIDES=("rust-rpc $BIN rust-rpc" "tonic $BIN tonic")
fi
side() { # side LABEL -> "BIN STACK"
  local s
  for s in "${SIDES[@]}"; do
    read -r label bin stack <<<"$s"
    [[ "$label" == "$1" ]] && echo "$bin $stack" && return 0
  done
  return 1
}
read -r A_LABEL _ <<<"${SIDES[0]}"
read -r B_LABEL _ <<<"${SIDES[1]}"

# name mode concurrency connections
ALL_ROWS=(
  "unary-c1 unary 1 1"
  "unary-c64 unary 64 4"
  "server-stream-c64 server-stream 64 4"
  "client-stream-c64 client-stream 64 4"
  "ping-pong-c1 ping-pong 1 1"
  "ping-pong-c64 ping-pong 64 4"
)
ROWS=${ROWS:-"unary-c1 unary-c64 server-stream-c64 client-stream-c64 ping-pong-c1 ping-pong-c64"}

if [[ -z "${NO_BUILD:-}" ]]; then
  cargo build --release -p rust-rpc-bench --bin rpc-bench
fi
mkdir -p "$OUT"
RESULTS="$OUT/runs.jsonl"
: >"$RESULTS"

SERVER_PID=
CERTS=
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
cleanup() {
  stop_server
  if [[ -n "$CERTS" ]]; then rm -rf "$CERTS"; fi
}
trap cleanup EXIT

# Bounds in seconds: a server stops by itself after SERVER_LIFE (should this
# script die without stopping it), a load run is killed after LOAD_LIFE (it
# stops by itself long before: connecting, warm-up, duration, its callers'
# timeout). Both well past what one row takes.
SERVER_LIFE=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { print int(w + d + 120) }')
LOAD_LIFE=$(awk -v w="$WARMUP" -v d="$DURATION" 'BEGIN { print int(w + d + 90) }')

# make_certs DIR: ca.pem, server.pem and server.key in DIR.
make_certs() {
  local dir=$1
  if command -v openssl >/dev/null; then
    cat >"$dir/openssl.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = rpc-bench
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    timeout 60 openssl req -x509 -config "$dir/openssl.cnf" -extensions ca "${ec[@]}" \
      -subj "/CN=rpc-bench test CA" -days 1 -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>"$dir/openssl.log" &&
      timeout 60 openssl req -new -config "$dir/openssl.cnf" "${ec[@]}" -subj "/CN=localhost" \
        -keyout "$dir/server.key" -out "$dir/server.csr" 2>>"$dir/openssl.log" &&
      timeout 60 openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -set_serial 2 -days 1 -extfile "$dir/openssl.cnf" -extensions server \
        -out "$dir/server.pem" 2>>"$dir/openssl.log" || {
      echo "run-rpc: openssl could not make the certificates:" >&2
      cat "$dir/openssl.log" >&2
      exit 1
    }
  elif [[ -x target/debug/test-certs ]]; then
    timeout 60 target/debug/test-certs --out "$dir"
  else
    echo "run-rpc: TLS=1 needs openssl (or target/debug/test-certs)" >&2
    exit 1
  fi
}

SCHEME=http
SERVER_TLS=()
LOAD_TLS=()
if [[ "$TLS" == 1 ]]; then
  CERTS=$(mktemp -d "${TMPDIR:-/tmp}/rpc-bench-tls.XXXXXX")
  make_certs "$CERTS"
  SCHEME=https
  SERVER_TLS=(--tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key")
  # Connects by IP, as without TLS, and checks the certificate for localhost.
  LOAD_TLS=(--tls-ca "$CERTS/ca.pem" --tls-domain localhost)
fi

# start_server LABEL: starts that side's server on a free port, sets PORT.
start_server() {
  local log="$OUT/server-$1.log" bin stack
  read -r bin stack <<<"$(side "$1")"
  # Emptied here, not only by the redirection below, which the server's
  # process may do after the first look for its port: that look would find
  # the port of the last server with this label.
  : >"$log"
  "$bin" server --stack "$stack" --port 0 --stream-len "$STREAM_LEN" --resp-size "$RESP_SIZE" \
    --exit-after-s "$SERVER_LIFE" "${SERVER_TLS[@]}" $(observe_flags "$1") >"$log" 2>&1 &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
    [[ -n "$PORT" ]] && return 0
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.05
  done
  echo "run-rpc: the $1 server did not start:" >&2
  cat "$log" >&2
  exit 1
}

# run_one ROW STACK ROUND
run_one() {
  local name=$1 mode=$2 c=$3 k=$4 label=$5 round=$6 bin stack
  start_server "$label"
  read -r bin stack <<<"$(side "$label")"
  local line
  if ! line=$(timeout -k 5 "$LOAD_LIFE" "$bin" load --stack "$stack" \
    --addr "$SCHEME://127.0.0.1:$PORT" --mode "$mode" \
    --concurrency "$c" --connections "$k" --duration-s "$DURATION" --warmup-s "$WARMUP" \
    --req-size "$REQ_SIZE" --resp-size "$RESP_SIZE" --stream-len "$STREAM_LEN" "${LOAD_TLS[@]}" \
    $(observe_flags "$label")); then
    echo "run-rpc: the $label load run of $name failed; its server's log:" >&2
    cat "$OUT/server-$label.log" >&2
    exit 1
  fi
  # The server's CPU time (user + system, clock ticks) over its whole life.
  local ticks
  ticks=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo -1)
  stop_server
  echo "{\"row\":\"$name\",\"side\":\"$label\",\"round\":$round,\"server_cpu_ticks\":$ticks,\"clk_tck\":$(getconf CLK_TCK),\"result\":$line}" >>"$RESULTS"
  echo "  $name round $round $label: $line" >&2
}

flip=0
for round in $(seq 1 "$ROUNDS"); do
  for row in "${ALL_ROWS[@]}"; do
    read -r name mode c k <<<"$row"
    [[ " $ROWS " == *" $name "* ]] || continue
    if ((flip % 2 == 0)); then order=("$A_LABEL" "$B_LABEL"); else order=("$B_LABEL" "$A_LABEL"); fi
    flip=$((flip + 1))
    for stack in "${order[@]}"; do
      run_one "$name" "$mode" "$c" "$k" "$stack" "$round"
    done
  done
  # Each row's order also alternates between rounds.
  if (($(echo "$ROWS" | wc -w) % 2 == 0)); then flip=$((flip + 1)); fi
done

python3 - "$RESULTS" "$DURATION" "$WARMUP" "$ROUNDS" "$REQ_SIZE" "$RESP_SIZE" "$STREAM_LEN" \
  "$A_LABEL" "$B_LABEL" "$TLS" <<'PY'
import json, statistics, sys
path, duration, warmup, rounds, req, resp, stream_len, a, b, tls = sys.argv[1:]
against_tonic = b == "tonic"
# WORKLOADS.md's figures are plaintext: no column against them over TLS.
with_reference = against_tonic and tls != "1"
# WORKLOADS.md's tonic 0.14 figures: rate, p50, p99 (None where not given).
REFERENCE = {
    "unary-c1": (6890, 138, 215),
    "unary-c64": (59205, 641, 4971),
    "server-stream-c64": (3118600, None, None),
    "client-stream-c64": (3193840, None, None),
    "ping-pong-c1": (12214, 80, 133),
    "ping-pong-c64": (136750, 293, 4305),
}
LABEL = {
    "unary-c1": "unary, C=1",
    "unary-c64": "unary, C=64, K=4",
    "server-stream-c64": "server-stream, C=64, K=4",
    "client-stream-c64": "client-stream, C=64, K=4",
    "ping-pong-c1": "ping-pong, C=1",
    "ping-pong-c64": "ping-pong, C=64, K=4",
}
# The bar: (what, threshold) on rust-rpc/tonic in the same run.
BAR = {
    "unary-c1": ("p50", 0.5),
    "unary-c64": ("rate", 2.0),
    "server-stream-c64": ("rate", 1.5),
    "client-stream-c64": ("rate", 1.5),
    "ping-pong-c1": ("rate", 1.5),
    "ping-pong-c64": ("rate", 1.5),
}
runs = {}
for line in open(path):
    r = json.loads(line)
    res = r["result"]
    # CPU microseconds per op, both processes (the server's whole life, the
    # load generator's run; warm-up ops included on both sides).
    if r.get("server_cpu_ticks", -1) >= 0 and res.get("cpu_ms", -1) >= 0 and res.get("ops_all"):
        server_ms = r["server_cpu_ticks"] * 1000.0 / r["clk_tck"]
        res["cpu_us_per_op"] = (server_ms + res["cpu_ms"]) * 1000.0 / res["ops_all"]
    else:
        res["cpu_us_per_op"] = float("nan")
    runs.setdefault((r["row"], r.get("side", res["stack"])), []).append(res)

def med(rows, key):
    return statistics.median(x[key] for x in rows)

def rate(v):
    return f"{v:,.0f}"

title = f"{a} vs {b}" if not against_tonic else "rust-rpc vs tonic 0.14"
if tls == "1":
    title += " over TLS"
print(f"\n{title}: medians of {rounds} rounds, {duration} s each after {warmup} s "
      f"warm-up; {req}-byte requests, {resp}-byte responses, streams of {stream_len}.\n")
extra = " | rust-rpc vs WORKLOADS tonic" if with_reference else ""
print(f"| workload | {a} ops/s | {b} ops/s | rate ratio | {a} p50 / p99 us "
      f"| {b} p50 / p99 us | p50 ratio | CPU us/op {a} / {b} | CPU ratio{extra} "
      "| errors | bar |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if with_reference else "") + "---:|---|")
for row in REFERENCE:
    ours, theirs = runs.get((row, a)), runs.get((row, b))
    if not ours or not theirs:
        continue
    o_rate, t_rate = med(ours, "rps"), med(theirs, "rps")
    o50, t50 = med(ours, "p50_us"), med(theirs, "p50_us")
    o99, t99 = med(ours, "p99_us"), med(theirs, "p99_us")
    errors = sum(x["errors"] for x in ours + theirs)
    o_cpu, t_cpu = med(ours, "cpu_us_per_op"), med(theirs, "cpu_us_per_op")
    ratio = o_rate / t_rate if t_rate else float("nan")
    p50_ratio = o50 / t50 if t50 else float("nan")
    cpu_ratio = o_cpu / t_cpu if t_cpu else float("nan")
    if against_tonic:
        what, threshold = BAR[row]
        if what == "rate":
            met = ratio >= threshold
            bar = f"rate >= {threshold}x: {'met' if met else 'NOT met'}"
        else:
            met = p50_ratio <= threshold
            bar = f"p50 <= {threshold}x: {'met' if met else 'NOT met'}"
        ref = f" | {o_rate / REFERENCE[row][0]:.2f}" if with_reference else ""
    else:
        bar, ref = "-", ""
    print(f"| {LABEL[row]} | {rate(o_rate)} | {rate(t_rate)} | {ratio:.2f} | {o50:.0f} / {o99:.0f} "
          f"| {t50:.0f} / {t99:.0f} | {p50_ratio:.2f} | {o_cpu:.2f} / {t_cpu:.2f} | {cpu_ratio:.2f}{ref} "
          f"| {errors} | {bar} |")
PY

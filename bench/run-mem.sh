#!/usr/bin/env bash
# Server memory per idle connection and per open stream: rust-rpc against
# tonic 0.14, side by side in the same run.
#
# Each round runs `rpc-bench mem` once per stack (the order alternates from
# round to round, so drift on a shared machine hits both alike). Each run
# starts a fresh server process on a free loopback port, reads its VmRSS
# from /proc after a warm-up, with CONNECTIONS idle HTTP/2 connections, with
# STREAMS open FullDuplexCall streams on each (CONNECTIONS x STREAMS in all,
# the server holding every call), and after one message each way on every
# stream; then kills the server. Prints a markdown table of the medians over
# the rounds, with the lowest and highest in brackets.
#
#   bench/run-mem.sh                      # 100 connections x 100 streams, 5 rounds
#   ROUNDS=3 CONNECTIONS=50 STREAMS=200 bench/run-mem.sh
#
# Knobs (environment): ROUNDS, CONNECTIONS, STREAMS (per connection; at most
# the server's SETTINGS_MAX_CONCURRENT_STREAMS, 200 for rust-rpc),
# MESSAGE_SIZE, SETTLE_MS (wait before each reading), TIMEOUT (seconds, per
# run), OUT (directory for the raw JSON lines and logs, default
# target/rpc-mem), NO_BUILD=1 to skip the build, BIN (another rpc-bench).
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-100}
STREAMS=${STREAMS:-100}
MESSAGE_SIZE=${MESSAGE_SIZE:-16}
SETTLE_MS=${SETTLE_MS:-500}
TIMEOUT=${TIMEOUT:-60}
OUT=${OUT:-target/rpc-mem}
BIN=${BIN:-target/release/rpc-bench}

if [[ -z "${NO_BUILD:-}" ]]; then
  cargo build --release -p rust-rpc-bench --bin rpc-bench
fi
mkdir -p "$OUT"
RESULTS="$OUT/runs.jsonl"
: >"$RESULTS"

# rpc-bench mem kills its server when it ends or gets SIGTERM; if it is gone
# without doing so, the server's pid (from its log) is killed here too.
RUN_PID=
LOG=
stop_run() {
  if [[ -n "$RUN_PID" ]]; then
    kill "$RUN_PID" 2>/dev/null || true
    wait "$RUN_PID" 2>/dev/null || true
    RUN_PID=
  fi
  if [[ -n "$LOG" ]]; then
    local server
    server=$(sed -n 's/^rpc-bench mem .*: server pid \([0-9]*\)$/\1/p' "$LOG" | head -n 1)
    # Only if that pid is still our server (not a process that reused it).
    if [[ -n "$server" ]] && tr '\0' ' ' 2>/dev/null <"/proc/$server/cmdline" |
      grep -q "rpc-bench server --stack"; then
      kill "$server" 2>/dev/null || true
    fi
    LOG=
  fi
}
trap stop_run EXIT

# run_one STACK ROUND
run_one() {
  local stack=$1 round=$2
  LOG="$OUT/mem-$stack-$round.log"
  local json="$OUT/mem-$stack-$round.json"
  "$BIN" mem --stack "$stack" --connections "$CONNECTIONS" --streams-per-connection "$STREAMS" \
    --message-size "$MESSAGE_SIZE" --settle-ms "$SETTLE_MS" --timeout-s "$TIMEOUT" \
    >"$json" 2>"$LOG" &
  RUN_PID=$!
  local rc=0
  wait "$RUN_PID" || rc=$?
  RUN_PID=
  if ((rc != 0)); then
    echo "run-mem: rpc-bench mem --stack $stack failed ($rc):" >&2
    cat "$LOG" >&2
    exit 1
  fi
  LOG=
  echo "{\"round\":$round,\"result\":$(cat "$json")}" >>"$RESULTS"
  echo "  round $round $stack: $(cat "$json")" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  if ((round % 2 == 1)); then order=(rust-rpc tonic); else order=(tonic rust-rpc); fi
  for stack in "${order[@]}"; do
    run_one "$stack" "$round"
  done
done

python3 - "$RESULTS" "$ROUNDS" "$CONNECTIONS" "$STREAMS" "$MESSAGE_SIZE" <<'PY'
import json, statistics, sys
path, rounds, conns, streams, size = sys.argv[1:]
runs = {}
for line in open(path):
    r = json.loads(line)["result"]
    r["growth"] = r["open"]["rss"] - r["base"]["rss"]
    runs.setdefault(r["stack"], []).append(r)

def kib(v):
    return f"{v / 1024:,.1f} KiB"

def mib(v):
    return f"{v / 1048576:,.1f} MiB"

def cell(rows, get, fmt):
    values = [get(r) for r in rows]
    return f"{fmt(statistics.median(values))} ({fmt(min(values))} to {fmt(max(values))})"

total = int(conns) * int(streams)
print(f"\nServer memory (VmRSS of the server process), rust-rpc vs tonic 0.14: medians of "
      f"{rounds} rounds (lowest to highest); {conns} connections, {streams} open FullDuplexCall "
      f"streams on each ({total:,} in all), {size}-byte messages.\n")
print(f"| stack | server RSS, idle | per idle connection | per open stream "
      f"| per stream, after a message each way | RSS with {total:,} streams on {conns} connections "
      f"| growth over the idle server | max_concurrent_streams advertised |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for stack in ("rust-rpc", "tonic"):
    rows = runs.get(stack)
    if not rows:
        continue
    limit = rows[0]["max_concurrent_streams"]
    print(f"| {stack} | {cell(rows, lambda r: r['base']['rss'], mib)} "
          f"| {cell(rows, lambda r: r['per_idle_connection'], kib)} "
          f"| {cell(rows, lambda r: r['per_open_stream'], kib)} "
          f"| {cell(rows, lambda r: r['per_stream_after_message'], kib)} "
          f"| {cell(rows, lambda r: r['open']['rss'], mib)} "
          f"| {cell(rows, lambda r: r['growth'], mib)} "
          f"| {'unlimited' if limit is None else limit} |")
ours, theirs = runs.get("rust-rpc"), runs.get("tonic")
if ours and theirs:
    def ratio(key):
        o = statistics.median(r[key] for r in ours)
        t = statistics.median(r[key] for r in theirs)
        return f"{o / t:.2f}" if t else "n/a"
    print(f"\nrust-rpc / tonic (medians): per idle connection {ratio('per_idle_connection')}, "
          f"per open stream {ratio('per_open_stream')}, growth at {total:,} streams "
          f"{ratio('growth')}.")
PY

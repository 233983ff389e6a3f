#!/usr/bin/env bash
# Reflection against `buf curl` (npm @bufbuild/buf, the Buf CLI), a client
# no one here wrote: it lists interop-server's methods through
# grpc.reflection.v1 and v1alpha, then makes a UnaryCall whose JSON it turns
# into protobuf with the descriptors reflection gave it.
#
#   interop/buf/check.sh target/debug/interop-server
#
# The Buf CLI is installed once under ~/.cache/rust-rpc/buf (npm, pinned).
# The server runs on a free loopback port, in its own process group, and is
# killed by its id at the end; every command is bounded in time.
set -euo pipefail

server_bin=${1:?usage: check.sh path/to/interop-server}
BUF_VERSION=1.75.0
cache="${HOME}/.cache/rust-rpc/buf-${BUF_VERSION}"
buf="${cache}/node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
  mkdir -p "$cache"
  timeout 300 npm install --silent --no-audit --no-fund --prefix "$cache" "@bufbuild/buf@${BUF_VERSION}" >&2
fi
timeout 30 "$buf" --version >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
setsid timeout 300 "$server_bin" --port "$port" >"$log" 2>&1 &
pid=$!
cleanup() {
  kill -TERM -- "-$pid" 2>/dev/null || true
  sleep 0.2
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

fail() { echo "FAIL buf curl: $*" >&2; exit 1; }
url="http://127.0.0.1:$port"
for protocol in grpc-v1 grpc-v1alpha; do
  methods=$(timeout 60 "$buf" curl --protocol grpc --http2-prior-knowledge \
    --reflect-protocol "$protocol" --list-methods "$url")
  for m in grpc.testing.TestService/UnaryCall grpc.testing.TestService/FullDuplexCall \
    grpc.health.v1.Health/Check grpc.reflection.v1.ServerReflection/ServerReflectionInfo; do
    grep -qx "$m" <<<"$methods" || fail "$protocol: $m not listed in: $methods"
  done
done
reply=$(timeout 60 "$buf" curl --protocol grpc --http2-prior-knowledge \
  -d '{"response_size": 3, "payload": {"body": "AAA="}}' \
  "$url/grpc.testing.TestService/UnaryCall")
python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert r["payload"]["body"] == "AAAA", r' "$reply" \
  || fail "UnaryCall by reflection answered: $reply"
health=$(timeout 60 "$buf" curl --protocol grpc --http2-prior-knowledge \
  -d '{"service": "grpc.testing.TestService"}' "$url/grpc.health.v1.Health/Check")
grep -q '"SERVING"' <<<"$health" || fail "Check answered: $health"
echo "PASS buf curl: methods listed over reflection v1 and v1alpha, a UnaryCall and a health Check made by reflection"

#!/usr/bin/env bash
# Fetch the real-world .proto files that build-support/tests/real_protos.rs
# generates and compiles. Nothing of them is committed; they live in a cache.
#
# - googleapis from the npm package google-proto-files@6.0.1 (`npm pack`,
#   checked against the sha512 pinned below), unpacked to <cache>/googleapis.
#   Its copy of protobuf's own files (google/protobuf/*) is left out: those
#   come from the toolchain, protoc's include dir or the pure parser's built-in
#   ones, as they do for a user who compiles googleapis.
# - protobuf's test protos from the protobuf source that the crates.io package
#   protobuf-src 2.1.1 carries (protobuf 27.2; the same `cargo fetch` that
#   interop/conformance/setup.sh uses), copied to <cache>/protobuf; and every
#   .proto file under that source's src/google/protobuf (proto2, proto3 and
#   edition 2023 test protos, descriptor.proto, ...) to <cache>/protobuf-all,
#   for the test that holds the pure front end to protoc's descriptors.
#
# <cache> is ${RUST_RPC_CACHE:-$HOME/.cache/rust-rpc}/real-protos.
# Idempotent: with both parts in place (a stamp file each) nothing is fetched.
# Every network step is bounded in time. Progress goes to stderr; stdout is
# exactly one line, for
#   eval "$(interop/real-protos/setup.sh)"
#   REAL_PROTOS=<cache>   (holds googleapis/ and protobuf/)
set -euo pipefail

readonly NPM_PACKAGE=google-proto-files
readonly NPM_VERSION=6.0.1
# sha512 of google-proto-files-6.0.1.tgz (the registry's `integrity`, in hex).
readonly NPM_SHA512=7dbbd4595361deb286955156c2550d17b4a4d536a1d1af3dab4dab2d35ec5a36ca28719eb944406bcb65f6bbeee53c969f2d58892228e5e0ea176eb44da8babd
readonly CRATE_DIR=protobuf-src-2.1.1+27.1
# Under the protobuf source's src/, copied to the same path under
# <cache>/protobuf (= their import path). They import nothing beyond each
# other and the well-known types.
readonly PROTOBUF_FILES=(
  google/protobuf/unittest_custom_options.proto
  google/protobuf/unittest_proto3_optional.proto
  google/protobuf/unittest_mset.proto
  google/protobuf/unittest_mset_wire_format.proto
)
readonly NETWORK_TIMEOUT=600

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${RUST_RPC_CACHE:-$HOME/.cache/rust-rpc}/real-protos"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
googleapis_stamp="$NPM_PACKAGE@$NPM_VERSION sha512:$NPM_SHA512"
protobuf_stamp="$CRATE_DIR: ${PROTOBUF_FILES[*]}"
protobuf_all_stamp="$CRATE_DIR: src/google/protobuf/**/*.proto"

# Everything but the final line goes to stderr.
exec 3>&1 1>&2

log() { printf 'real-protos setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Scratch directories under <cache>, removed however the script ends.
scratch=()
trap 'rm -rf "${scratch[@]}"' EXIT

stamped() { [[ -f "$1/.stamp" && "$(cat "$1/.stamp")" == "$2" ]]; }

ensure_npm() {
  command -v npm >/dev/null && return 0
  log "installing Debian package npm"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "need npm, or root (or sudo) to install it"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends npm >&2
}

fetch_googleapis() {
  local dest="$cache/googleapis" tmp
  if stamped "$dest" "$googleapis_stamp"; then
    log "googleapis already unpacked: $dest ($NPM_PACKAGE@$NPM_VERSION)"
    return 0
  fi
  ensure_npm
  tmp="$(mktemp -d "$cache/.npm.XXXXXX")"
  scratch+=("$tmp")
  log "npm pack $NPM_PACKAGE@$NPM_VERSION"
  timeout "$NETWORK_TIMEOUT" npm pack "$NPM_PACKAGE@$NPM_VERSION" \
    --pack-destination "$tmp" --ignore-scripts --silent >&2 ||
    die "npm pack $NPM_PACKAGE@$NPM_VERSION failed (or took over ${NETWORK_TIMEOUT}s)"
  local tgz="$tmp/$NPM_PACKAGE-$NPM_VERSION.tgz"
  [[ -f "$tgz" ]] || die "npm pack wrote no $tgz"
  local sum
  sum="$(sha512sum "$tgz" | cut -d' ' -f1)"
  [[ "$sum" == "$NPM_SHA512" ]] || die "$tgz has sha512 $sum, expected $NPM_SHA512"
  mkdir "$tmp/unpacked"
  tar -xzf "$tgz" -C "$tmp/unpacked" --strip-components=1 \
    --exclude='package/google/protobuf' package/LICENSE package/google
  [[ -f "$tmp/unpacked/google/api/annotations.proto" ]] ||
    die "$tgz holds no google/api/annotations.proto"
  printf '%s\n' "$googleapis_stamp" >"$tmp/unpacked/.stamp"
  rm -rf "$dest"
  mv "$tmp/unpacked" "$dest"
  log "googleapis unpacked: $dest"
}

find_protobuf_src() {
  local d
  for d in "$cargo_home"/registry/src/*/"$CRATE_DIR"/protobuf; do
    if [[ -f "$d/src/google/protobuf/unittest_custom_options.proto" ]]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

# The protobuf source in cargo's registry, fetched if it is not there (a
# machine may keep this cache but not cargo's).
protobuf_src() {
  local src
  if src="$(find_protobuf_src)"; then
    printf '%s\n' "$src"
    return 0
  fi
  command -v cargo >/dev/null || die "cargo not found on PATH"
  log "fetching $CRATE_DIR with cargo fetch"
  timeout "$NETWORK_TIMEOUT" cargo fetch --locked \
    --manifest-path "$here/../conformance/fetch/Cargo.toml" >&2 ||
    die "cargo fetch of $CRATE_DIR failed (or took over ${NETWORK_TIMEOUT}s)"
  find_protobuf_src ||
    die "cargo fetch succeeded but $cargo_home/registry/src/*/$CRATE_DIR/protobuf is missing"
}

copy_protobuf_protos() {
  local dest="$cache/protobuf" src tmp f
  if stamped "$dest" "$protobuf_stamp"; then
    log "protobuf test protos already copied: $dest"
    return 0
  fi
  src="$(protobuf_src)"
  tmp="$(mktemp -d "$cache/.protobuf.XXXXXX")"
  chmod 0755 "$tmp"
  scratch+=("$tmp")
  for f in "${PROTOBUF_FILES[@]}"; do
    [[ -f "$src/src/$f" ]] || die "missing $src/src/$f"
    install -D -m 0644 "$src/src/$f" "$tmp/$f"
  done
  [[ -f "$src/LICENSE" ]] && install -m 0644 "$src/LICENSE" "$tmp/LICENSE"
  printf '%s\n' "$protobuf_stamp" >"$tmp/.stamp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  log "protobuf test protos copied from $src: $dest"
}

copy_protobuf_tree() {
  local dest="$cache/protobuf-all" src tmp f n=0
  if stamped "$dest" "$protobuf_all_stamp"; then
    log "protobuf's .proto tree already copied: $dest"
    return 0
  fi
  src="$(protobuf_src)"
  tmp="$(mktemp -d "$cache/.protobuf-all.XXXXXX")"
  chmod 0755 "$tmp"
  scratch+=("$tmp")
  while IFS= read -r -d '' f; do
    install -D -m 0644 "$src/src/$f" "$tmp/$f"
    n=$((n + 1))
  done < <(cd "$src/src" && find google/protobuf -name '*.proto' -print0)
  ((n > 50)) || die "only $n .proto files under $src/src/google/protobuf"
  [[ -f "$src/LICENSE" ]] && install -m 0644 "$src/LICENSE" "$tmp/LICENSE"
  printf '%s\n' "$protobuf_all_stamp" >"$tmp/.stamp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
  log "protobuf's $n .proto files copied from $src: $dest"
}

main() {
  local started=$SECONDS
  mkdir -p "$cache"
  # Serialize concurrent runs on one machine.
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    log "waiting for another setup.sh run holding $cache/.lock"
    timeout "$NETWORK_TIMEOUT" flock 9 || die "$cache/.lock still held after ${NETWORK_TIMEOUT}s"
  fi
  fetch_googleapis
  copy_protobuf_protos
  copy_protobuf_tree
  log "done in $((SECONDS - started))s"
  # %q keeps the line safe to eval even if the cache path has spaces.
  printf 'REAL_PROTOS=%q\n' "$cache" >&3
}

main "$@"

#!/usr/bin/env bash
# Prepare protobuf's binary conformance suite for the rust-rpc testee.
#
# - fetches the protobuf source vendored by the crates.io package
#   protobuf-src =2.1.1 (via `cargo fetch`, which downloads and unpacks but
#   never runs protobuf-src's build script). NB: despite its "+27.1" version
#   suffix, protobuf-src 2.1.x vendors protobuf 27.2 (see its CHANGELOG and
#   protobuf/version.json); the cache directory is named after that.
# - copies the .proto files the testee is generated from into <cache>/protos,
# - builds conformance_test_runner (cmake + ninja) into <cache>/bin.
#
# <cache> is ${RUST_RPC_CACHE:-$HOME/.cache/rust-rpc}/protobuf-27.2.
# Idempotent: a second run with a working runner only re-checks the protos.
# Progress goes to stderr; stdout is exactly two lines, for
#   eval "$(interop/conformance/setup.sh)"
#   RUNNER=<path to conformance_test_runner>
#   PROTOS=<include dir holding the conformance .proto files>
set -euo pipefail

readonly CACHE_NAME=protobuf-27.2
readonly CRATE_DIR=protobuf-src-2.1.1+27.1
readonly JOBS=2
# Paths relative to the protobuf source tree -> path under <cache>/protos
# (= the import path the files use). None of them imports anything beyond the
# well-known types, which come from protoc's own include dir.
readonly PROTO_FILES=(
  conformance/conformance.proto:conformance/conformance.proto
  src/google/protobuf/test_messages_proto2.proto:google/protobuf/test_messages_proto2.proto
  src/google/protobuf/test_messages_proto3.proto:google/protobuf/test_messages_proto3.proto
  conformance/test_protos/test_messages_edition2023.proto:conformance/test_protos/test_messages_edition2023.proto
  editions/golden/test_messages_proto2_editions.proto:editions/golden/test_messages_proto2_editions.proto
  editions/golden/test_messages_proto3_editions.proto:editions/golden/test_messages_proto3_editions.proto
)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${RUST_RPC_CACHE:-$HOME/.cache/rust-rpc}/$CACHE_NAME"
runner="$cache/bin/conformance_test_runner"
protos="$cache/protos"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"

# Everything but the final two lines goes to stderr.
exec 3>&1 1>&2

log() { printf 'conformance setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

runner_works() {
  # The runner has no --help; an unknown flag makes it print its usage and
  # exit 1 without running anything, which proves the binary loads and runs.
  [[ -x "$runner" ]] || return 1
  local out
  out="$("$runner" --no-such-flag-setup-sh-probe 2>&1 || true)"
  [[ "$out" == *"Usage: conformance-test-runner"* ]]
}

protos_present() {
  local entry
  for entry in "${PROTO_FILES[@]}"; do
    [[ -f "$protos/${entry#*:}" ]] || return 1
  done
}

find_protobuf_src() {
  local d
  for d in "$cargo_home"/registry/src/*/"$CRATE_DIR"/protobuf; do
    if [[ -f "$d/CMakeLists.txt" && -f "$d/conformance/conformance.proto" ]]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  return 1
}

fetch_protobuf_src() {
  local src
  if src="$(find_protobuf_src)"; then
    printf '%s\n' "$src"
    return 0
  fi
  command -v cargo >/dev/null || die "cargo not found on PATH"
  log "fetching $CRATE_DIR with cargo fetch"
  cargo fetch --locked --manifest-path "$here/fetch/Cargo.toml" >&2
  src="$(find_protobuf_src)" ||
    die "cargo fetch succeeded but $cargo_home/registry/src/*/$CRATE_DIR/protobuf is missing"
  printf '%s\n' "$src"
}

copy_protos() {
  local src="$1" entry from to
  for entry in "${PROTO_FILES[@]}"; do
    from="$src/${entry%%:*}"
    to="$protos/${entry#*:}"
    [[ -f "$from" ]] || die "missing $from"
    if ! cmp -s "$from" "$to" 2>/dev/null; then
      install -D -m 0644 "$from" "$to"
    fi
  done
}

# protoc from the protoc-bin-vendored crates (what the project's build uses)
# must accept all six files with only <cache>/protos and its own WKT include
# dir. Skipped with a note when those crates are not in the cargo registry.
check_protos_with_protoc() {
  local protoc="" include="" p
  for p in "$cargo_home"/registry/src/*/protoc-bin-vendored-linux-x86_64-3.3.0; do
    if [[ -x "$p/bin/protoc" && -f "$p/include/google/protobuf/any.proto" ]]; then
      protoc="$p/bin/protoc"
      include="$p/include"
      break
    fi
  done
  if [[ -z "$protoc" ]]; then
    log "note: protoc-bin-vendored-linux-x86_64-3.3.0 is not in the cargo registry; skipping the protoc check of $protos"
    return 0
  fi
  local files=() entry
  for entry in "${PROTO_FILES[@]}"; do files+=("${entry#*:}"); done
  "$protoc" -I "$protos" -I "$include" --descriptor_set_out=/dev/null "${files[@]}" ||
    die "$("$protoc" --version) cannot compile the conformance protos in $protos"
  log "protos ok: $("$protoc" --version) compiles all ${#files[@]} files with -I $protos -I $include"
}

ensure_packages() {
  local missing=() pkg
  # g++ is the compiler; libjsoncpp-dev also brings the libjsoncpp25 runtime.
  for pkg in g++ cmake ninja-build libjsoncpp-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
      missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "need root (or sudo) to install ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

build_runner() {
  local src="$1" build="$cache/build" started=$SECONDS
  [[ -f /usr/include/jsoncpp/json/json.h ]] || die "jsoncpp headers not found in /usr/include/jsoncpp"
  log "configuring $src in $build"
  # protobuf's cmake/conformance.cmake links plain `jsoncpp` when the provider
  # is "package" and adds no include dir, so Debian's header dir is passed in.
  # The runner's generated C++ must come from the same protoc version as the
  # runtime it links (gencode/runtime versions must match exactly), so protoc
  # is built as a dependency; upb, zlib, tests and install rules are not.
  cmake -S "$src" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS="-I/usr/include/jsoncpp" \
    -DABSL_PROPAGATE_CXX_STD=ON \
    -DABSL_BUILD_TESTING=OFF \
    -DBUILD_TESTING=OFF \
    -Dprotobuf_BUILD_CONFORMANCE=ON \
    -Dprotobuf_BUILD_TESTS=OFF \
    -Dprotobuf_BUILD_EXAMPLES=OFF \
    -Dprotobuf_BUILD_LIBUPB=OFF \
    -Dprotobuf_BUILD_SHARED_LIBS=OFF \
    -Dprotobuf_INSTALL=OFF \
    -Dprotobuf_WITH_ZLIB=OFF \
    -Dprotobuf_ABSL_PROVIDER=module \
    -Dprotobuf_JSONCPP_PROVIDER=package \
    >&2
  log "building conformance_test_runner with ninja -j$JOBS (cold build: ~17 min on 2 cores)"
  ninja -C "$build" -j "$JOBS" conformance_test_runner >&2
  install -D -m 0755 "$build/conformance_test_runner" "$runner.tmp"
  mv -f "$runner.tmp" "$runner"
  runner_works || die "built $runner but it does not run"
  rm -rf "$build"
  log "built $runner in $((SECONDS - started))s"
}

main() {
  local started=$SECONDS src=""
  mkdir -p "$cache"
  # Serialize concurrent runs on one machine (they would share the build dir).
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    log "waiting for another setup.sh run holding $cache/.lock"
    flock 9
  fi

  if ! protos_present; then
    src="$(fetch_protobuf_src)"
    log "protobuf source: $src"
    copy_protos "$src"
  fi
  check_protos_with_protoc

  if runner_works; then
    log "runner already built: $runner"
  else
    ensure_packages
    if runner_works; then
      log "runner works now that its packages are installed: $runner"
    else
      [[ -n "$src" ]] || src="$(fetch_protobuf_src)"
      log "protobuf source: $src"
      build_runner "$src"
    fi
  fi
  log "done in $((SECONDS - started))s"

  # %q keeps the lines safe to eval even if the cache path has spaces.
  printf 'RUNNER=%q\nPROTOS=%q\n' "$runner" "$protos" >&3
}

main "$@"

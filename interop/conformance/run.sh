#!/usr/bin/env bash
# Run protobuf's conformance suite (from protobuf-src =2.1.1) against a testee.
#
#   interop/conformance/run.sh [TESTEE]     # default: target/release/conformance-testee
#
# Runs from the repo root; the full runner output is also written to
# target/conformance.log. Exits 0 only when the runner exits 0 and every
# suite it ran prints "CONFORMANCE SUITE PASSED" with 0 unexpected failures
# (no failure list is passed, so any failing test fails the run).
#
# Environment:
#   RUST_RPC_CACHE             cache root for setup.sh (default ~/.cache/rust-rpc)
#   CONFORMANCE_TIMEOUT        seconds before the runner is killed (default 900)
#   CONFORMANCE_MIN_SUCCESSES  fail if fewer tests than this pass in total
#                              (default 1: a testee that answers "skipped" to
#                              everything passes the runner, but not this script)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"

log() { printf 'conformance: %s\n' "$*" >&2; }

# A testee given on the command line is relative to the caller's directory;
# the default one is relative to the repo root. The runner execv()s the path
# as given (no PATH lookup), so hand it an absolute path.
if (($# > 0)); then
  testee="$(realpath -m -- "$1")"
else
  testee="$repo_root/target/release/conformance-testee"
fi
cd "$repo_root"

# (eval "$(setup.sh)" would hide a setup.sh failure; the assignment does not.)
setup_out="$("$here/setup.sh")"
eval "$setup_out"
: "${RUNNER:?setup.sh did not report RUNNER}"

if [[ ! -f "$testee" || ! -x "$testee" ]]; then
  log "testee $testee is missing or not executable (build it first, e.g. cargo build --release)"
  exit 2
fi

mkdir -p target/conformance
logfile=target/conformance.log
# On failures the runner writes failing_tests.txt & co. into --output_dir
# (or into the current directory, i.e. the repo root, without it).
rm -f target/conformance/{failing,succeeding,nonexistent}_tests.txt

log "running $RUNNER against $testee (log: $logfile)"
# The runner prints its reports on stderr.
set +e
timeout -k 10 "${CONFORMANCE_TIMEOUT:-900}" \
  "$RUNNER" --enforce_recommended --maximum_edition 2023 \
  --output_dir target/conformance "$testee" 2>&1 | tee "$logfile"
status=${PIPESTATUS[0]}
set -e

# One summary line per suite that ran; the runner runs the binary+JSON suite,
# then the text-format suite, and stops after the first suite that fails:
#   CONFORMANCE SUITE PASSED: 2000 successes, 500 skipped, 0 expected failures, 0 unexpected failures.
summary_re='^CONFORMANCE SUITE (PASSED|FAILED): ([0-9]+) successes, ([0-9]+) skipped, ([0-9]+) expected failures, ([0-9]+) unexpected failures\.$'
summaries=0 passed_suites=0 successes=0 skipped=0 failures=0
echo
while IFS= read -r line; do
  [[ "$line" =~ $summary_re ]] || continue
  echo "$line"
  summaries=$((summaries + 1))
  [[ "${BASH_REMATCH[1]}" == PASSED && "${BASH_REMATCH[5]}" == 0 ]] && passed_suites=$((passed_suites + 1))
  successes=$((successes + BASH_REMATCH[2]))
  skipped=$((skipped + BASH_REMATCH[3]))
  failures=$((failures + BASH_REMATCH[4] + BASH_REMATCH[5]))
done <"$logfile"

min="${CONFORMANCE_MIN_SUCCESSES:-1}"
verdict=0
if ((status == 124 || status == 137)); then
  log "FAILED: runner timed out after ${CONFORMANCE_TIMEOUT:-900}s (exit $status)"
  verdict=1
elif ((status != 0)); then
  log "FAILED: runner exited with status $status"
  verdict=1
elif ((summaries != 2 || passed_suites != summaries)); then
  log "FAILED: expected 2 passing suite summaries, found $summaries ($passed_suites passing)"
  verdict=1
elif ((successes < min)); then
  log "FAILED: only $successes tests passed (CONFORMANCE_MIN_SUCCESSES=$min); did the testee skip everything?"
  verdict=1
else
  log "PASSED"
fi
# Last line: totals over all suites in the plain "N passed, N failed" form.
echo "conformance: $successes passed, $failures failed, $skipped skipped"
exit "$verdict"

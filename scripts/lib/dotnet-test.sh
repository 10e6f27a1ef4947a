# Shared by scripts/test-dotnet.sh and scripts/test-dotnet-package.sh (sourced, not run).

# Exports AZMI_NATIVE_LIB and AZMI_EMULATOR (full paths; the caller's values win), building the
# release library and emulator when either is missing. $root is the repository.
azmi_release_artifacts() {
  local target_dir="${CARGO_TARGET_DIR:-$root/target}"
  case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
  export AZMI_NATIVE_LIB="${AZMI_NATIVE_LIB:-$target_dir/release/libazmi.so}"
  export AZMI_EMULATOR="${AZMI_EMULATOR:-$target_dir/release/azmi-emulator}"
  if [ ! -f "$AZMI_NATIVE_LIB" ] || [ ! -x "$AZMI_EMULATOR" ]; then
    echo "building the release library and emulator (missing: $AZMI_NATIVE_LIB or $AZMI_EMULATOR)"
    cargo build --release -p azmi -p azmi-emulator
  fi
  local f
  for f in "$AZMI_NATIVE_LIB" "$AZMI_EMULATOR"; do
    [ -f "$f" ] || { echo "error: $f not found after the build" >&2; return 1; }
  done
}

# dotnet_result_line PROJECT TRX RC: prints "dotnet PROJECT: N passed, M failed[, K skipped]"
# from the run's .trx file and dotnet test's exit code RC; returns 1 when anything failed.
dotnet_result_line() {
  local project=$1 trx=$2 rc=$3 counters passed fail skipped
  counters="$( [ -f "$trx" ] && grep -o '<Counters [^>]*>' "$trx" || true)"
  if [ -n "$counters" ]; then
    count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
    passed=$(count passed)
    fail=$(($(count failed) + $(count error) + $(count timeout) + $(count aborted)))
    skipped=$(($(count total) - $(count executed)))
  else
    # No results at all: the build, the restore or the test host failed before any test ran.
    echo "error: dotnet test $project produced no results (exit code $rc)" >&2
    passed=0 fail=1 skipped=0
  fi
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    # dotnet test failed without a failed test (e.g. the host crashed after the last one).
    echo "error: dotnet test $project exited with $rc" >&2
    fail=1
  fi
  local line="dotnet $project: $passed passed, $fail failed"
  [ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
  echo "$line"
  [ "$fail" -eq 0 ]
}

# xunit_result_line PROJECT LOG RC: the same line from an xunit v3 program's own console output
# (its "Total: N, Errors: E, Failed: F, Skipped: S" summary) and exit code; returns 1 when
# anything failed or no summary was printed.
xunit_result_line() {
  local project=$1 log=$2 rc=$3 summary total errors fail skipped
  summary="$(grep -o 'Total: [0-9]*, Errors: [0-9]*, Failed: [0-9]*, Skipped: [0-9]*' "$log" | tail -n 1 || true)"
  if [ -z "$summary" ]; then
    echo "error: $project printed no test summary (exit code $rc)" >&2
    echo "dotnet $project: 0 passed, 1 failed"
    return 1
  fi
  read -r total errors fail skipped < <(sed 's/[^0-9]\+/ /g' <<<"$summary")
  fail=$((fail + errors))
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    echo "error: $project exited with $rc" >&2
    fail=1
  fi
  local line="dotnet $project: $((total - fail - skipped)) passed, $fail failed"
  [ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
  echo "$line"
  [ "$fail" -eq 0 ]
}

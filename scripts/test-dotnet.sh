#!/usr/bin/env bash
# Runs the .NET tests against the release build of libazmi and azmi-emulator:
#   tests/dotnet/AzMi.Interop.Tests  the C ABI through DllImport, as a .NET developer uses it
#                                    (builds tests/dotnet/AzMi.SourceProbe, run in child processes)
#   tests/dotnet/AzMi.SdkPeer.Tests  Azure.Identity's ManagedIdentityCredential vs the emulator
# Builds the Rust artifacts first when they are missing. Both projects always run; the script
# fails if either fails, and ends with one "dotnet <project>: N passed, M failed" line each.
# Environment: AZMI_NATIVE_LIB and AZMI_EMULATOR (full paths) override the artifacts tested.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
export AZMI_NATIVE_LIB="${AZMI_NATIVE_LIB:-$target_dir/release/libazmi.so}"
export AZMI_EMULATOR="${AZMI_EMULATOR:-$target_dir/release/azmi-emulator}"

if [ ! -f "$AZMI_NATIVE_LIB" ] || [ ! -x "$AZMI_EMULATOR" ]; then
  echo "building the release library and emulator (missing: $AZMI_NATIVE_LIB or $AZMI_EMULATOR)"
  cargo build --release -p azmi -p azmi-emulator
fi
for f in "$AZMI_NATIVE_LIB" "$AZMI_EMULATOR"; do
  [ -f "$f" ] || { echo "error: $f not found after the build" >&2; exit 1; }
done

results="$root/tests/dotnet/TestResults"
rm -rf "$results"
mkdir -p "$results"

projects=(AzMi.Interop.Tests AzMi.SdkPeer.Tests)
summaries=()
failed=0

for project in "${projects[@]}"; do
  echo
  echo "==== dotnet test $project ===="
  rc=0
  dotnet test "$root/tests/dotnet/$project/$project.csproj" \
    --configuration Release \
    --logger "console;verbosity=normal" \
    --logger "trx;LogFileName=$project.trx" \
    --results-directory "$results" || rc=$?

  trx="$results/$project.trx"
  counters="$( [ -f "$trx" ] && grep -o '<Counters [^>]*>' "$trx" || true)"
  if [ -n "$counters" ]; then
    count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
    passed=$(count passed)
    fail=$(($(count failed) + $(count error) + $(count timeout) + $(count aborted)))
    skipped=$(($(count total) - $(count executed)))
  else
    # No results at all: the build or the test host failed before any test ran.
    echo "error: dotnet test $project produced no results (exit code $rc)" >&2
    passed=0 fail=1 skipped=0
  fi
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    # dotnet test failed without a failed test (e.g. the host crashed after the last one).
    echo "error: dotnet test $project exited with $rc" >&2
    fail=1
  fi

  line="dotnet $project: $passed passed, $fail failed"
  [ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
  summaries+=("$line")
  [ "$fail" -eq 0 ] || failed=$((failed + 1))
done

echo
printf '%s\n' "${summaries[@]}"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Packs the AzMi and AzMi.Azure.Core NuGet packages (scripts/pack-dotnet.sh) into out/packages/nuget
# and runs tests/dotnet/AzMi.Package.Tests, which restores them from that local feed only (its
# nuget.config) and runs the tutorial flows against azmi-emulator and Azurite. Ends with the
# line "dotnet AzMi.Package.Tests: N passed, M failed".
# Environment: AZMI_NATIVE_LIB and AZMI_EMULATOR (full paths) override the artifacts tested;
# AZMI_PACKAGE_VERSION the version packed (default: Cargo.toml's).
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

version="${AZMI_PACKAGE_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)}"
export AZMI_PACKAGE_VERSION="$version"
bash "$root/scripts/pack-dotnet.sh"

# NuGet never looks at a feed again for a version it has in its global packages folder: drop
# this version of our own packages from it, so the tests get what was just packed.
packages_cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
rm -rf "$packages_cache/azmi/$version" "$packages_cache/azmi.azure.core/$version"

project=AzMi.Package.Tests
csproj="$root/tests/dotnet/$project/$project.csproj"
results="$root/tests/dotnet/TestResults"
mkdir -p "$results"
rm -f "$results/$project.trx"

echo
echo "==== dotnet test $project (AzMi $version from out/packages/nuget) ===="
rc=0
dotnet restore "$csproj" --force "-p:AzMiPackageVersion=$version" || rc=$?
if [ "$rc" -eq 0 ]; then
  dotnet test "$csproj" --configuration Release --no-restore "-p:AzMiPackageVersion=$version" \
    --logger "console;verbosity=normal" \
    --logger "trx;LogFileName=$project.trx" \
    --results-directory "$results" || rc=$?
fi

trx="$results/$project.trx"
counters="$( [ -f "$trx" ] && grep -o '<Counters [^>]*>' "$trx" || true)"
if [ -n "$counters" ]; then
  count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$(count passed)
  fail=$(($(count failed) + $(count error) + $(count timeout) + $(count aborted)))
  skipped=$(($(count total) - $(count executed)))
else
  echo "error: dotnet test $project produced no results (exit code $rc)" >&2
  passed=0 fail=1 skipped=0
fi
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
  echo "error: dotnet test $project exited with $rc" >&2
  fail=1
fi

line="dotnet $project: $passed passed, $fail failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo
echo "$line"
[ "$fail" -eq 0 ]

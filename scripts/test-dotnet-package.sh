#!/usr/bin/env bash
# Packs the AzMi and AzMi.Azure.Core NuGet packages (scripts/pack-dotnet.sh) into out/packages/nuget
# and runs tests/dotnet/AzMi.Package.Tests, which restores them from that local feed only (its
# nuget.config) and runs the tutorial flows against azmi-emulator and Azurite. Ends with the
# line "dotnet AzMi.Package.Tests: N passed, M failed".
#
# Usage: scripts/test-dotnet-package.sh [win-x64 | linux-arm64]
#   win-x64: the test program (xunit v3) published for win-x64, self-contained, and run under
#   Wine in the cross root, against azmi-emulator.exe, one Azurite and two tinyproxy started here
#   (Node does not run under Wine, nor a Linux program from a Windows one); the package's
#   win-x64 libazmi.dll is the one tested (scripts/build-cross.sh win-x64 first).
#   linux-arm64: the same program published for linux-arm64 and run under qemu-aarch64 in the
#   cross root on glibc 2.31 (scripts/lib/qemu-arm64.sh), against this machine's azmi-emulator,
#   one Azurite and two tinyproxy started here (the cross root has no tinyproxy); the package's
#   linux-arm64 libazmi.so is the one tested (scripts/build-cross.sh linux-arm64 first). Exit
#   code 77, after saying so, when the .NET runtime does not run under qemu-user here (an
#   emulator limit, not a test failure).
# Environment: AZMI_NATIVE_LIB and AZMI_EMULATOR (full paths) override the artifacts tested;
# AZMI_PACKAGE_VERSION the version packed (default: Cargo.toml's).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
rid="${1:-}"
case "$rid" in
  ""|win-x64|linux-arm64) ;;
  *) echo "test-dotnet-package.sh: unknown rid '$rid' (none, win-x64 or linux-arm64)" >&2; exit 2 ;;
esac

# shellcheck source=lib/dotnet-test.sh
source "$root/scripts/lib/dotnet-test.sh"
azmi_release_artifacts

version="${AZMI_PACKAGE_VERSION:-$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)}"
export AZMI_PACKAGE_VERSION="$version"
bash "$root/scripts/pack-dotnet.sh"

# NuGet never looks at a feed again for a version it has in its global packages folder: drop
# this version of our own packages from it, so the tests get what was just packed.
packages_cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
rm -rf "$packages_cache/azmi/$version" "$packages_cache/azmi.azure.core/$version"

# The test program published for RID (self-contained) and run where that platform runs here:
# under Wine (win-x64) or qemu-aarch64 (linux-arm64), both in the cross root (see Usage); prints
# the result line.
run_published() {
  local csproj=$1 version=$2 rid=$3
  # shellcheck source=lib/cross-root.sh
  source "$root/scripts/lib/cross-root.sh"
  local out="$cross_dir/dotnet-package-tests-$rid" emulator native where
  case $rid in
    win-x64)
      emulator="$cross_dir/build/x86_64-pc-windows-gnu/release/azmi-emulator.exe"
      [ -f "$emulator" ] || { echo "missing $emulator: run scripts/build-cross.sh win-x64" >&2; return 2; }
      native=libazmi.dll where="under Wine"
      ;;
    linux-arm64)
      # This machine's emulator: the tests start it from under qemu-aarch64, as a host program.
      emulator="$AZMI_EMULATOR"
      native=libazmi.so where="under qemu-aarch64"
      [ -f "$root/out/AzMi/runtimes/linux-arm64/native/libazmi.so" ] || {
        echo "missing out/AzMi/runtimes/linux-arm64/native/libazmi.so: run scripts/build-cross.sh linux-arm64" >&2; return 2; }
      ;;
  esac
  echo
  echo "==== dotnet publish $project -r $rid (AzMi $version from out/packages/nuget) ===="
  rm -rf "$out"
  # --force: the packages were just dropped from NuGet's cache (above).
  dotnet restore "$csproj" -r "$rid" --force "-p:AzMiPackageVersion=$version" --nologo -v quiet
  dotnet publish "$csproj" --configuration Release -r "$rid" --self-contained --no-restore \
    "-p:AzMiPackageVersion=$version" -o "$out" --nologo -v quiet
  [ -f "$out/$native" ] || { echo "error: the $rid publish has no $native: the package lacks runtimes/$rid" >&2; return 1; }
  if [ "$rid" = linux-arm64 ] && ! cmp -s "$out/$native" "$root/out/AzMi/runtimes/linux-arm64/native/libazmi.so"; then
    echo "error: the package's linux-arm64 libazmi.so is not out/AzMi/runtimes/linux-arm64/native/libazmi.so" >&2
    return 1
  fi
  # shellcheck source=lib/azurite.sh
  source "$root/scripts/lib/azurite.sh"
  # shellcheck source=lib/tinyproxy.sh
  source "$root/scripts/lib/tinyproxy.sh"
  trap 'azurite_stop; tinyproxy_stop' EXIT
  azurite_start "$out/azurite"
  export AZMI_EMULATOR="$emulator" AZMI_TEST_AZURITE_PORT="$azurite_port" AZMI_TEST_AZURITE_CERT="$azurite_cert"
  local run=()
  if [ "$rid" = win-x64 ]; then
    # The proxy tests' tinyproxy, started here (a Windows program cannot).
    tinyproxy_export_for_tests "$out/tinyproxy" windows
    export WINEPREFIX="$cross_dir/wine-prefix" WINEDEBUG=-all XDG_RUNTIME_DIR="$cross_dir/xdg-runtime"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
    run=(cross_run trixie wine "$out/$project.exe")
  else
    # The proxy tests' tinyproxy, started here (the cross root has none).
    tinyproxy_export_for_tests "$out/tinyproxy" linux
    # shellcheck source=lib/qemu-arm64.sh
    source "$root/scripts/lib/qemu-arm64.sh"
    qemu_arm64_script "$out/run-arm64" bullseye "$out/$project"
    run=(cross_run trixie "$out/run-arm64")
  fi
  echo "==== $project $where ===="
  local rc=0 log="$out/run.log"
  "${run[@]}" -noColor >"$log.raw" 2>&1 || rc=$?
  # Windows' console output ends lines with CR LF.
  tr -d '\r' <"$log.raw" | grep -v 'XDG_RUNTIME_DIR' | tee "$log"
  # No test ran: the runtime may not run under qemu-user here at all (an emulator limit, 77).
  if [ "$rid" = linux-arm64 ] && [ "$rc" -ne 0 ]; then
    qemu_arm64_limit "dotnet $project (linux-arm64)" "$log" "$rc" 'xUnit.net v3' || {
      local limit=$?; [ "$limit" -ne 77 ] || return 77; }
  fi
  local line
  line="$(xunit_result_line "$project ($rid, ${where#under })" "$log" "$rc")"
  echo
  echo "$line"
  [[ $line == *" 0 failed"* ]]
}

project=AzMi.Package.Tests
csproj="$root/tests/dotnet/$project/$project.csproj"
results="$root/tests/dotnet/TestResults"
mkdir -p "$results"
rm -f "$results/$project.trx"

if [ -n "$rid" ]; then
  run_published "$csproj" "$version" "$rid"
  exit
fi

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

failed=0
line="$(dotnet_result_line "$project" "$results/$project.trx" "$rc")" || failed=1
echo
echo "$line"
[ "$failed" -eq 0 ]

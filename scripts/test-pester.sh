#!/usr/bin/env bash
# Runs the Pester tests of the AzMi module (powershell/tests) against azmi-emulator.
# Needs: out/AzMi (scripts/build-module.sh), target/release/azmi-emulator (or $AZMI_EMULATOR),
# pwsh and Pester (scripts/setup-powershell.sh). Test results: out/pester/testResults.xml.
# Ends with the line "Pester: N passed, M failed"; the exit code is non-zero on any failure.
# AZMI_PESTER_PATH runs one test file or folder (or several, one a line) instead of
# powershell/tests.
#
# Usage: scripts/test-pester.sh [win-x64 | linux-arm64]
#   win-x64: PowerShell 7 for Windows under Wine, in the cross root: a pwsh built from
#   Microsoft.PowerShell.SDK for win-x64 (tests/pwsh-host, with the built-in modules of the
#   installed PowerShell for Windows), the module's win-x64 azmi.dll, azmi-emulator.exe, and one
#   Azurite and two tinyproxy started here (Node does not run under Wine, nor a Linux program
#   from a Windows one). Tests tagged NotOnWindows are left out;
#   each such tag says why. (scripts/build-cross.sh win-x64 first.)
#   linux-arm64: PowerShell 7 for linux-arm64 under qemu-aarch64, in the cross root: the same
#   pwsh built for linux-arm64 (with the installed PowerShell's Unix modules), the module's
#   linux-arm64 libazmi.so, this machine's azmi-emulator, and one Azurite and two tinyproxy
#   started here (the cross root has no tinyproxy); fresh pwsh sessions start through
#   $AZMI_TEST_PWSH, the script that runs pwsh under qemu (scripts/lib/qemu-arm64.sh). Only the
#   Describe blocks tagged Arm64 run (the whole suite takes 13 minutes emulated), unless
#   AZMI_PESTER_ARM64=all or AZMI_PESTER_PATH is set. Exit code 77, after saying so, when the
#   .NET runtime does not run under qemu-user here (an emulator limit, not a test failure).
#   (scripts/build-cross.sh linux-arm64 and scripts/package.sh first.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
caller_dir="$PWD"
cd "$root"
pester_version=5.7.1
rid="${1:-}"
case "$rid" in
  ""|win-x64|linux-arm64) ;;
  *) echo "test-pester.sh: unknown rid '$rid' (none, win-x64 or linux-arm64)" >&2; exit 2 ;;
esac

packages="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')"
pester="${packages%/}/pester/$pester_version/tools/Pester.psd1"
if [ ! -f "$pester" ]; then
  echo "test-pester.sh: Pester $pester_version not found at $pester; run scripts/setup-powershell.sh" >&2
  exit 1
fi
if [ ! -f "$root/out/AzMi/AzMi.psd1" ]; then
  echo "test-pester.sh: out/AzMi/AzMi.psd1 not found; run scripts/build-module.sh" >&2
  exit 1
fi

exclude_tag=""
include_tag=""
results="$root/out/pester/testResults.xml"
if [ -n "$rid" ]; then
  # shellcheck source=lib/cross-root.sh
  source "$root/scripts/lib/cross-root.sh"
  # shellcheck source=lib/pwsh-host.sh
  source "$root/scripts/lib/pwsh-host.sh"
  case $rid in
    win-x64)
      emulator="$cross_dir/build/x86_64-pc-windows-gnu/release/azmi-emulator.exe"
      [ -f "$root/out/AzMi/runtimes/win-x64/native/libazmi.dll" ] && [ -f "$emulator" ] || {
        echo "test-pester.sh: no win-x64 libazmi.dll or azmi-emulator.exe; run scripts/build-cross.sh win-x64" >&2; exit 1; }
      ;;
    linux-arm64)
      # This machine's emulator: the tests start it from under qemu-aarch64, as a host program.
      emulator="${AZMI_EMULATOR:-$root/target/release/azmi-emulator}"
      [ -f "$root/out/AzMi/runtimes/linux-arm64/native/libazmi.so" ] || {
        echo "test-pester.sh: no linux-arm64 libazmi.so; run scripts/build-cross.sh linux-arm64" >&2; exit 1; }
      [ -x "$emulator" ] || { echo "test-pester.sh: no $emulator; run scripts/build.sh" >&2; exit 1; }
      ;;
  esac
  pwsh_host_publish "$rid"
  # Pester and the test files must be where the root sees them: Pester is copied beside the host.
  rm -rf "$cross_dir/pester" && cp -r "$(dirname "$pester")" "$cross_dir/pester"
  pester="$cross_dir/pester/Pester.psd1"
  # shellcheck source=lib/azurite.sh
  source "$root/scripts/lib/azurite.sh"
  # shellcheck source=lib/tinyproxy.sh
  source "$root/scripts/lib/tinyproxy.sh"
  trap 'azurite_stop; tinyproxy_stop' EXIT
  azurite_start "$cross_dir/pester-azurite"
  export AZMI_EMULATOR="$emulator" AZMI_TEST_AZURITE_PORT="$azurite_port" AZMI_TEST_AZURITE_CERT="$azurite_cert"
  if [ "$rid" = win-x64 ]; then
    # The proxy tests' tinyproxy, started here (a Windows pwsh cannot).
    tinyproxy_export_for_tests "$cross_dir/pester-tinyproxy" windows
    export WINEPREFIX="$cross_dir/wine-prefix" WINEDEBUG=-all XDG_RUNTIME_DIR="$cross_dir/xdg-runtime"
    mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
    pwsh_cmd=(cross_run trixie wine "$pwsh_host_dir/pwsh.exe")
    exclude_tag=NotOnWindows
    # No XML report: Pester's asks WMI (Get-CimInstance) about the OS, which Wine does not have.
    results=""
  else
    # The proxy tests' tinyproxy, started here (the cross root has none).
    tinyproxy_export_for_tests "$cross_dir/pester-tinyproxy" linux
    # shellcheck source=lib/qemu-arm64.sh
    source "$root/scripts/lib/qemu-arm64.sh"
    # On trixie's glibc: PowerShell 7.6's arm64 libpsl-native needs 2.33 (the module's library
    # needs 2.28; the C and .NET package tests run it on 2.31).
    qemu_arm64_script "$pwsh_host_dir/pwsh-qemu" trixie "$pwsh_host_dir/pwsh"
    export AZMI_TEST_PWSH="$pwsh_host_dir/pwsh-qemu"
    pwsh_cmd=(cross_run trixie "$AZMI_TEST_PWSH")
    results="$root/out/pester/testResults-linux-arm64.xml"
    # The whole suite takes about 13 minutes under qemu-user, over the arm64 stages' budget in
    # CI (8 minutes): the Describe blocks tagged Arm64 run, those that take the native library
    # end to end (see Usage). AZMI_PESTER_ARM64=all runs the whole suite.
    if [ "${AZMI_PESTER_ARM64:-}" != all ] && [ -z "${AZMI_PESTER_PATH:-}" ]; then
      include_tag=Arm64
      # Only the files with such blocks are discovered (discovering them all takes 30 s here).
      AZMI_PESTER_PATH="$(grep -l -- '-Tag Arm64' "$root"/powershell/tests/*.Tests.ps1)"
      echo
      echo "linux-arm64 under qemu-user: running the Pester tests tagged Arm64 only (tokens, Key"
      echo "Vault reads and writes, Blob and Data Lake Gen1/Gen2, through a proxy, their errors and"
      echo "Ctrl+C, loading the module and installing its package), not the whole suite: it takes"
      echo "about 13 minutes under emulation, over the 8 minutes CI gives the arm64 stages."
      echo "AZMI_PESTER_ARM64=all runs the whole suite."
    fi
  fi
else
  pwsh="${PWSH:-$HOME/.dotnet/tools/pwsh}"
  [ -x "$pwsh" ] || pwsh="$(command -v pwsh || true)"
  if [ -z "$pwsh" ] || [ ! -x "$pwsh" ]; then
    echo "test-pester.sh: pwsh not found; run scripts/setup-powershell.sh" >&2
    exit 1
  fi
  pwsh_cmd=("$pwsh")
fi
mkdir -p "$root/out/pester"

# The tests point azmi at the emulator with $env:AZMI_IMDS_ENDPOINT (and AZMI_ARM_ENDPOINT) set inside pwsh. Start pwsh
# without either endpoint variable, so that the native environment cannot supply it and the
# tests prove that the module forwards PowerShell's environment.
unset AZMI_IMDS_ENDPOINT AZURE_POD_IDENTITY_AUTHORITY_HOST AZMI_ARM_ENDPOINT
# A relative AZMI_PESTER_PATH is the caller's: made absolute, as pwsh under Wine starts elsewhere.
if [ -n "${AZMI_PESTER_PATH:-}" ]; then
  AZMI_PESTER_PATH="$(cd "$caller_dir" && while IFS= read -r path; do
    realpath -e "$path" || { echo "test-pester.sh: AZMI_PESTER_PATH '$path' does not exist" >&2; exit 2; }
  done <<<"$AZMI_PESTER_PATH")" || exit 2
  export AZMI_PESTER_PATH
fi
export AZMI_PESTER_MODULE="$pester" AZMI_TEST_ROOT="$root" AZMI_PESTER_RESULTS="$results"
export AZMI_PESTER_EXCLUDE_TAG="$exclude_tag" AZMI_PESTER_TAG="$include_tag"
pester_script='
    $ErrorActionPreference = "Stop"
    Import-Module $env:AZMI_PESTER_MODULE
    $config = New-PesterConfiguration
    $config.Run.Path = if ($env:AZMI_PESTER_PATH) { $env:AZMI_PESTER_PATH -split "`n" } else { Join-Path $env:AZMI_TEST_ROOT "powershell/tests" }
    $config.Run.PassThru = $true
    $config.Output.Verbosity = "Detailed"
    $config.Output.CIFormat = "Auto"
    $config.TestResult.Enabled = [bool]$env:AZMI_PESTER_RESULTS
    $config.TestResult.OutputPath = $env:AZMI_PESTER_RESULTS
    if ($env:AZMI_PESTER_EXCLUDE_TAG) { $config.Filter.ExcludeTag = $env:AZMI_PESTER_EXCLUDE_TAG }
    if ($env:AZMI_PESTER_TAG) { $config.Filter.Tag = $env:AZMI_PESTER_TAG }
    $result = Invoke-Pester -Configuration $config

    # A failure outside any test (BeforeAll, a file that does not parse) fails no test: count it.
    $failed = $result.FailedCount
    if ($result.Result -ne "Passed" -and $failed -eq 0) {
        $failed = [Math]::Max(1, $result.FailedBlocksCount + $result.FailedContainersCount)
    }
    ""
    "Pester: $($result.PassedCount) passed, $failed failed"
    if ($null -eq $result -or $failed -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
    exit 0
  '
if [ "$rid" != linux-arm64 ]; then
  "${pwsh_cmd[@]}" -NoProfile -NonInteractive -Command "$pester_script"
  exit 0
fi
# Under qemu-user the output is kept too: when pwsh fails before Pester says anything, whether the
# runtime ran at all (qemu_arm64_limit; 77, an emulator limit, when it did not).
log="$root/out/pester/pester-linux-arm64.log"
rc=0
"${pwsh_cmd[@]}" -NoProfile -NonInteractive -Command "$pester_script" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && exit 0
qemu_arm64_limit "Pester (linux-arm64)" "$log" "$rc" '^Pester v\|Starting discovery' || exit
exit 1

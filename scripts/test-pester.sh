#!/usr/bin/env bash
# Runs the Pester tests of the AzMi module (powershell/tests) against azmi-emulator.
# Needs: out/AzMi (scripts/build-module.sh), target/release/azmi-emulator (or $AZMI_EMULATOR),
# pwsh and Pester (scripts/setup-powershell.sh). Test results: out/pester/testResults.xml.
# Ends with the line "Pester: N passed, M failed"; the exit code is non-zero on any failure.
# AZMI_PESTER_PATH runs one test file (or folder) instead of powershell/tests.
#
# Usage: scripts/test-pester.sh [win-x64]
#   win-x64: PowerShell 7 for Windows under Wine, in the cross root: a pwsh built from
#   Microsoft.PowerShell.SDK for win-x64 (tests/pwsh-host, with the built-in modules of the
#   installed PowerShell for Windows), the module's win-x64 azmi.dll, azmi-emulator.exe, and one
#   Azurite and two tinyproxy started here (Node does not run under Wine, nor a Linux program
#   from a Windows one). Tests tagged NotOnWindows are left out;
#   each such tag says why. (scripts/build-cross.sh win-x64 first.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
caller_dir="$PWD"
cd "$root"
pester_version=5.7.1
rid="${1:-}"
case "$rid" in
  ""|win-x64) ;;
  *) echo "test-pester.sh: unknown rid '$rid' (none, or win-x64)" >&2; exit 2 ;;
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
results="$root/out/pester/testResults.xml"
if [ "$rid" = win-x64 ]; then
  # shellcheck source=lib/cross-root.sh
  source "$root/scripts/lib/cross-root.sh"
  # shellcheck source=lib/pwsh-host.sh
  source "$root/scripts/lib/pwsh-host.sh"
  emulator_exe="$cross_dir/build/x86_64-pc-windows-gnu/release/azmi-emulator.exe"
  [ -f "$root/out/AzMi/runtimes/win-x64/native/libazmi.dll" ] && [ -f "$emulator_exe" ] || {
    echo "test-pester.sh: no win-x64 libazmi.dll or azmi-emulator.exe; run scripts/build-cross.sh win-x64" >&2; exit 1; }
  pwsh_host_publish win-x64
  # Pester and the test files must be where the root sees them: Pester is copied beside the host.
  rm -rf "$cross_dir/pester" && cp -r "$(dirname "$pester")" "$cross_dir/pester"
  pester="$cross_dir/pester/Pester.psd1"
  # shellcheck source=lib/azurite.sh
  source "$root/scripts/lib/azurite.sh"
  # shellcheck source=lib/tinyproxy.sh
  source "$root/scripts/lib/tinyproxy.sh"
  trap 'azurite_stop; tinyproxy_stop' EXIT
  azurite_start "$cross_dir/pester-azurite"
  # The proxy tests' tinyproxy, started here (a Windows pwsh cannot).
  tinyproxy_export_for_tests "$cross_dir/pester-tinyproxy"
  export AZMI_EMULATOR="$emulator_exe" AZMI_TEST_AZURITE_PORT="$azurite_port" AZMI_TEST_AZURITE_CERT="$azurite_cert"
  export WINEPREFIX="$cross_dir/wine-prefix" WINEDEBUG=-all XDG_RUNTIME_DIR="$cross_dir/xdg-runtime"
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  pwsh_cmd=(cross_run trixie wine "$pwsh_host_dir/pwsh.exe")
  exclude_tag=NotOnWindows
  # No XML report: Pester's asks WMI (Get-CimInstance) about the OS, which Wine does not have.
  results=""
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
  AZMI_PESTER_PATH="$(cd "$caller_dir" && realpath -e "$AZMI_PESTER_PATH")" || {
    echo "test-pester.sh: AZMI_PESTER_PATH '$AZMI_PESTER_PATH' does not exist" >&2; exit 2; }
  export AZMI_PESTER_PATH
fi
export AZMI_PESTER_MODULE="$pester" AZMI_TEST_ROOT="$root" AZMI_PESTER_RESULTS="$results"
export AZMI_PESTER_EXCLUDE_TAG="$exclude_tag"
"${pwsh_cmd[@]}" -NoProfile -NonInteractive -Command '
    $ErrorActionPreference = "Stop"
    Import-Module $env:AZMI_PESTER_MODULE
    $config = New-PesterConfiguration
    $config.Run.Path = if ($env:AZMI_PESTER_PATH) { $env:AZMI_PESTER_PATH } else { Join-Path $env:AZMI_TEST_ROOT "powershell/tests" }
    $config.Run.PassThru = $true
    $config.Output.Verbosity = "Detailed"
    $config.Output.CIFormat = "Auto"
    $config.TestResult.Enabled = [bool]$env:AZMI_PESTER_RESULTS
    $config.TestResult.OutputPath = $env:AZMI_PESTER_RESULTS
    if ($env:AZMI_PESTER_EXCLUDE_TAG) { $config.Filter.ExcludeTag = $env:AZMI_PESTER_EXCLUDE_TAG }
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
